//! MNIST data, model zoo and training.
