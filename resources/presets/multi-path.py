# multi-path: a is used in two places, so its gradient sums both paths: dL/da = 2a + 3 = 9 at a = 3
# autodiff: lr=0.1 steps=100
a = Value(3.0)
b = a**2
c = 3 * a
L = b + c
