"""The simulated mat: a physical model of a member plus the mat's load cells and ADCs."""
