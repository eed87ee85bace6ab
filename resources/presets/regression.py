# regression: the tutorial's exercise, a line y = m·x + b fitted to three points (target y = 2x + 0)
# autodiff: lr=0.01 steps=800 data=x_train,y_train result="y = {m:.2f}x + {b:.2f}"
x_train, y_train = [1, 2, 3], [2, 4, 6]
m, b = Value(0.0), Value(0.0)
loss = sum([(m * x_val + b - y_val)**2 for x_val, y_val in zip(x_train, y_train)])
# the model the loss fits, for the data view: the line at any x
def predict(x): return m * x + b
