"""Model blocks of Cross-Modal Attention Fusion, one module per block."""

from cmaf.models.attention import CrossModalAttention, align_time
from cmaf.models.audio_encoder import AudioEncoder
from cmaf.models.baselines import AudioOnly, VideoOnly, build_model
from cmaf.models.config import AudioEncoderConfig, CMAFConfig, VisualEncoderConfig
from cmaf.models.model import CMAF, CMAFOutput
from cmaf.models.pooling import ClassifierHead, FactorizedBilinearPooling
from cmaf.models.tucker import TuckerFusion, tucker_fusion_reference
from cmaf.models.tucker_fbp import TuckerFBP
from cmaf.models.visual_encoder import VisualEncoder, imagenet_checkpoint_path

__all__ = [
    "CMAF",
    "AudioEncoder",
    "AudioEncoderConfig",
    "AudioOnly",
    "CMAFConfig",
    "CMAFOutput",
    "ClassifierHead",
    "CrossModalAttention",
    "FactorizedBilinearPooling",
    "TuckerFBP",
    "TuckerFusion",
    "VideoOnly",
    "VisualEncoder",
    "VisualEncoderConfig",
    "align_time",
    "build_model",
    "imagenet_checkpoint_path",
    "tucker_fusion_reference",
]
