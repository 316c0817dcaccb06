"""The network: causal video VAE, spacetime-patch diffusion transformer, text encoder."""
