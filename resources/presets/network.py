# network: a 2-6-1 tanh network learning XOR from four points (a graph of a few hundred nodes)
# autodiff: lr=0.05 steps=1000 data=xs,ys
xs = [[0, 0], [0, 1], [1, 0], [1, 1]]
ys = [-1, 1, 1, -1]
w1 = [[Value(0.5), Value(-0.4)], [Value(0.3), Value(0.8)], [Value(-0.7), Value(0.2)],
      [Value(0.6), Value(0.9)], [Value(-0.2), Value(-0.5)], [Value(0.1), Value(0.4)]]
b1 = [Value(0.1), Value(-0.2), Value(0.05), Value(0.0), Value(0.3), Value(-0.1)]
w2 = [Value(0.4), Value(-0.6), Value(0.5), Value(-0.3), Value(0.2), Value(0.7)]
b2 = Value(0.0)
hidden = [[tanh(sum([wi * xi for wi, xi in zip(row, x)]) + bi) for row, bi in zip(w1, b1)] for x in xs]
preds = [tanh(sum([v * h for v, h in zip(w2, hs)]) + b2) for hs in hidden]
loss = sum([(p - y)**2 for p, y in zip(preds, ys)])
# the network's output at any input x = [x1, x2], for the data view
def predict(x): return tanh(sum([v * tanh(sum([wi * xi for wi, xi in zip(row, x)]) + bi) for v, row, bi in zip(w2, w1, b1)]) + b2)
