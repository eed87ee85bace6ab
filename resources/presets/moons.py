# moons: a 2-8-8-1 tanh network separating two interleaved half-moons of 40 points (hinge loss + L2)
# autodiff: lr=0.5 steps=400 data=xs,ys
xs = [[-0.18, 0.98], [0.17, -0.98], [0.57, -0.8], [0.95, -0.25], [-0.82, 0.7],
      [0.74, -0.55], [-0.32, 0.35], [0.13, 0.69], [0.07, -0.75], [-0.01, 0.78],
      [0.96, -0.08], [-0.93, 0.08], [0.35, 0.55], [-0.52, 0.89], [-0.25, -0.2],
      [-0.28, -0.09], [-1.05, -0.4], [-0.24, -0.53], [0.98, 0.42], [-1.05, 0.31],
      [0.33, -0.24], [0.88, -0.37], [-0.49, 1.08], [0.78, -0.38], [-0.3, 0.09],
      [0.2, -1.07], [0.62, -0.71], [-0.03, -0.71], [0.34, -1.0], [-0.85, 0.4],
      [-0.28, 0.85], [0.03, 0.78], [0.18, 0.25], [0.21, -0.02], [0.41, -0.75],
      [-0.9, 0.61], [-0.94, -0.01], [-0.24, 1.14], [-0.65, 0.89], [0.21, 0.31]]
ys = [1, -1, -1, -1, 1, -1, -1, 1, -1, 1, -1, 1, 1, 1, -1, -1, 1, -1, -1, 1, 1, -1, 1, -1, -1, -1, -1, -1, -1, 1, 1, 1, 1, 1, -1, 1, 1, 1, 1, 1]
w1 = [[Value(0.74), Value(0.77)],
      [Value(-0.9), Value(0.2)],
      [Value(-0.6), Value(0.06)],
      [Value(-0.36), Value(-0.56)],
      [Value(-0.2), Value(-0.62)],
      [Value(0.31), Value(-0.69)],
      [Value(0.24), Value(-0.88)],
      [Value(0.36), Value(-0.95)]]
b1 = [Value(-0.04), Value(0.35), Value(-0.48), Value(-0.43), Value(-0.15), Value(0.23), Value(-0.38), Value(-0.28)]
w2 = [[Value(0.13), Value(-0.11), Value(0.1), Value(-0.14), Value(-0.23), Value(-0.19), Value(0.21), Value(-0.28)],
      [Value(0.32), Value(-0.34), Value(-0.34), Value(0.34), Value(-0.1), Value(0.1), Value(-0.11), Value(0.08)],
      [Value(-0.35), Value(0.13), Value(-0.35), Value(0.04), Value(-0.33), Value(0.31), Value(-0.28), Value(0.13)],
      [Value(0.1), Value(-0.19), Value(0.05), Value(-0.32), Value(0.1), Value(0.27), Value(-0.04), Value(0.14)],
      [Value(0.26), Value(-0.14), Value(0.11), Value(0.18), Value(0.24), Value(-0.33), Value(-0.04), Value(0.04)],
      [Value(0.27), Value(0.11), Value(0.24), Value(-0.2), Value(-0.14), Value(0.31), Value(-0.33), Value(-0.09)],
      [Value(0.2), Value(-0.26), Value(0.33), Value(-0.14), Value(0.32), Value(0.14), Value(-0.19), Value(0.14)],
      [Value(-0.25), Value(-0.32), Value(-0.19), Value(-0.18), Value(0.08), Value(-0.35), Value(0.23), Value(0.13)]]
b2 = [Value(0.27), Value(-0.22), Value(-0.37), Value(-0.12), Value(0.39), Value(-0.14), Value(0.07), Value(0.06)]
w3 = [Value(0.31), Value(0.43), Value(-0.24), Value(0.21), Value(0.4), Value(-0.35), Value(-0.15), Value(0.03)]
b3 = Value(0.0)
h1 = [[tanh(sum([w * xi for w, xi in zip(row, x)]) + b) for row, b in zip(w1, b1)] for x in xs]
h2 = [[tanh(sum([w * hi for w, hi in zip(row, h)]) + b) for row, b in zip(w2, b2)] for h in h1]
scores = [sum([w * hi for w, hi in zip(w3, h)]) + b3 for h in h2]
# the hinge loss: a point counts until its score is on its side by a margin of 1
data_loss = sum([relu(1 - y * s) for s, y in zip(scores, ys)]) / len(ys)
# a small L2 term keeps the weights from growing without end
l2 = sum([w**2 for row in w1 for w in row]) + sum([w**2 for row in w2 for w in row]) + sum([w**2 for w in w3])
loss = data_loss + 0.0001 * l2
def predict(x): return sum([v * tanh(sum([w * t for w, t in zip(row2, [tanh(sum([u * xi for u, xi in zip(row1, x)]) + c1) for row1, c1 in zip(w1, b1)])]) + c2) for v, row2, c2 in zip(w3, w2, b2)]) + b3
