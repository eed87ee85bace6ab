# shared-node: b is shared and is not a leaf, so back-propagating in a wrong (breadth-first) order gives a wrong dL/da
# autodiff: lr=0.01 steps=200
a = Value(2.0)
b = a * a
c = 3 * b
L = b + c
