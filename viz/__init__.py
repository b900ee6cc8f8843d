"""viz: computation graphs, the backward stepper, network diagrams and plots."""
