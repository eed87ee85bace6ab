# neuron: one tanh neuron with two inputs, its output pulled toward a target by a squared error
# autodiff: lr=0.1 steps=300
x1 = 2
x2 = 0
w1 = Value(-3.0)
w2 = Value(1.0)
b = Value(6.8813735870195432)
n = x1 * w1 + x2 * w2 + b
o = tanh(n)
target = 0.9
L = (o - target)**2
