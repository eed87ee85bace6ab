# three-step: the tutorial's loss L(w) = (w·x - y)² in three steps, from w = 0 toward w* = 2
# autodiff: lr=0.1 steps=100
w = Value(0.0)
x = 1
y = 2
z = w * x
e = z - y
L = e**2
