"""cmaf: a runnable replication of Cross-Modal Attention Fusion (Kumar, Aruldoss & Wynn, 2025).

Kumar, Aruldoss & Wynn (2025), "Cross-Modal Attention Fusion: A Deep Learning and Affective
Computing Model for Emotion Recognition", Multimodal Technologies and Interaction 9(12):116.
"""

__version__ = "0.1.0"
