"""Benchmarks that train: DANN reproduction, the needs reader under DANN, training throughput, transfer."""
