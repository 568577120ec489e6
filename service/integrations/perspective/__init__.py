"""A drop-in for Perspective's comments:analyze and comments:suggestscore (v1alpha1)."""
