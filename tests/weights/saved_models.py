"""TensorFlow SavedModel protobufs assembled by hand with the field numbers of TensorFlow's .proto
files: tensorflow (a wheel of over 250 MB) is not a test dependency."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tests.weights.protowire_writer import blob, message, uint

DT_STRING = 7  # framework/types.proto


def attr(key: str, value: Iterable[bytes]) -> bytes:
    """NodeDef.attr (5): a map entry, key = 1, value = 2 (an AttrValue)."""
    return message(5, [blob(1, key), message(2, value)])


def attr_s(key: str, value: str) -> bytes:
    return attr(key, [blob(2, value)])  # AttrValue.s = 2


def attr_list_s(key: str, values: Iterable[str]) -> bytes:
    return attr(key, [message(1, [blob(2, v) for v in values])])  # AttrValue.list = 1, s = 2


def node(name: str, op: str, inputs: Iterable[str] = (), attrs: Iterable[bytes] = ()) -> bytes:
    """A NodeDef's fields (node_def.proto): name = 1, op = 2, input = 3, attr = 5."""
    return b"".join([blob(1, name), blob(2, op), *(blob(3, i) for i in inputs), *attrs])


def string_const(name: str, value: str) -> bytes:
    # AttrValue.tensor = 8 holds a TensorProto: dtype = 1, string_val = 8.
    tensor = message(8, [uint(1, DT_STRING), blob(8, value)])
    return node(name, "Const", attrs=[attr("dtype", [uint(6, DT_STRING)]), attr("value", [tensor])])


def function(name: str, nodes: Iterable[bytes], *, signature_last: bool = False) -> bytes:
    """A FunctionDef (function.proto): signature = 1 (an OpDef, name = 1), node_def = 3."""
    signature = message(1, [blob(1, name)])
    body = [message(3, [n]) for n in nodes]
    return b"".join([*body, signature] if signature_last else [signature, *body])


def graph(nodes: Iterable[bytes] = (), functions: Iterable[bytes] = ()) -> bytes:
    """MetaGraphDef.graph_def (2): a GraphDef, node = 1, library = 2 (function = 1)."""
    library = message(2, [message(1, [f]) for f in functions])
    return message(2, [*(message(1, [n]) for n in nodes), library])


def saver(filename_tensor: str) -> bytes:
    return message(3, [blob(1, filename_tensor)])  # MetaGraphDef.saver_def; filename_tensor_name


def asset(tensor: str, filename: str) -> bytes:
    # MetaGraphDef.asset_file_def (6): tensor_info = 1 (a TensorInfo, name = 1), filename = 2.
    return message(6, [message(1, [blob(1, tensor)]), blob(2, filename)])


def object_graph(metadata: Iterable[tuple[str, Any]]) -> bytes:
    """MetaGraphDef.object_graph_def (7): SavedObjectGraph.nodes = 1, each a SavedObject whose
    user_object = 4 is a SavedUserObject: identifier = 1, metadata = 3 (Keras JSON, TF 2.0-2.4)."""
    nodes = [
        message(1, [message(4, [blob(1, identifier), blob(3, json.dumps(config))])])
        for identifier, config in metadata
    ]
    return message(7, nodes)


def saved_model(*meta_graph_fields: bytes) -> bytes:
    """A SavedModel (saved_model.proto): saved_model_schema_version = 1, meta_graphs = 2."""
    return uint(1, 1) + message(2, meta_graph_fields)


def keras_metadata(objects: Iterable[tuple[str, Any]]) -> bytes:
    """keras_metadata.pb, Keras' saved_metadata.proto: SavedMetadata.nodes = 1, each a SavedObject
    with node_path = 3, identifier = 4, metadata = 5 (a layer's JSON)."""
    return b"".join(
        message(
            1,
            [uint(2, i), blob(3, path), blob(4, "_tf_keras_layer"), blob(5, json.dumps(config))],
        )
        for i, (path, config) in enumerate(objects)
    )


def plain_graph() -> bytes:
    """What tf.saved_model.save writes for a one-variable module, reduced to the ops: a serving
    function, and the saver graph fed by the loader's saver_filename placeholder."""
    serving = function(
        "__inference___call___42",
        [
            node("MatMul/ReadVariableOp", "ReadVariableOp", ["matmul_readvariableop_resource"]),
            node("MatMul", "MatMul", ["x", "MatMul/ReadVariableOp:value:0"]),
            node("Identity", "Identity", ["MatMul:product:0"]),
        ],
    )
    nodes = [
        node("saver_filename", "Placeholder", attrs=[attr("dtype", [uint(6, DT_STRING)])]),
        node("w", "VarHandleOp"),
        string_const("save/tensor_names", "w/.ATTRIBUTES/VARIABLE_VALUE"),
        node("save/SaveV2", "SaveV2", ["saver_filename", "save/tensor_names"]),
        node("save/MergeV2Checkpoints", "MergeV2Checkpoints", ["save/shards", "saver_filename"]),
        node("save/RestoreV2", "RestoreV2", ["saver_filename", "save/tensor_names"]),
        node("PartitionedCall", "StatefulPartitionedCall", ["x", "w"]),
        node("StatefulPartitionedCall", "__inference___call___42", ["x", "w"]),
    ]
    return graph(nodes, [serving])
