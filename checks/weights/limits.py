"""Bounds on every parser, so hostile input ends in a finding, never a hang or a crash."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_depth: int = 4  # containers inside containers
    max_entries: int = 100_000  # members of one archive
    max_member_bytes: int = 1 << 30  # one decompressed pickle member
    max_total_decompressed: int = 4 << 30  # all members of one archive
    max_compression_ratio: int = 1000  # zip-bomb guard for deflated members
    max_opcodes: int = 50_000_000  # one pickle stream
    max_stack_depth: int = 1_000_000
    max_memo: int = 10_000_000
    max_pickles_per_file: int = 64  # torch legacy holds a handful in a row
    max_header_bytes: int = 100 << 20  # safetensors JSON header, numpy header, GGUF metadata
    max_gguf_entries: int = 1_000_000
    max_config_bytes: int = 64 << 20  # Keras config.json, tokenizer_config.json
    hdf5_memory_bytes: int = 2 << 30  # address space of the child process that runs h5py
    hdf5_timeout_s: float = 60.0  # the child's time to open the file and read model_config
    max_hdf5_copy_bytes: int = 2 << 30  # a remote or archived HDF5 file copied for the child
    max_proto_fields: int = 5_000_000  # protobuf fields walked in one ONNX or SavedModel file
    max_proto_depth: int = 100  # protobuf messages inside messages (the protobuf runtime's own)
    max_graph_depth: int = 16  # ONNX If/Loop/Scan bodies inside bodies
