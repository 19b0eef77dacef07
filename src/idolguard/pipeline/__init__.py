"""Analysis stages as small versioned plug-ins, and the runner that applies them to items and batches."""
