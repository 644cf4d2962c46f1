"""Protobuf requests whose string fields hold bytes that are not UTF-8.

Protobuf's Python decoder refuses a whole message when one `string` field is not UTF-8, and an OpenTelemetry
Collector can send one (Go strings hold any bytes, and its encoder does not check them): one log line read from a
file in Latin-1 would cost every record of its batch, since a 400 is not retried. Such a body is read again with
every string field declared `bytes` (the wire format is the same, and bytes are not checked); each string that is
not UTF-8 is decoded with U+FFFD for what is not text, as `logintel ingest` reads text, and the message is then
read as its own type.
"""
from __future__ import annotations

import functools

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.descriptor import FieldDescriptor


def repaired(body: bytes, message: type):
    """`message` read from `body` with each string that is not UTF-8 made text (U+FFFD); raises what the
    decoder raises when the body is not that message even so."""
    lenient = _lenient_class(message).FromString(body)
    _repair(lenient, message.DESCRIPTOR)
    return message.FromString(lenient.SerializeToString())


def _repair(value, original) -> None:
    for field, content in value.ListFields():
        kind = original.fields_by_name[field.name]
        repeated = kind.is_repeated
        if kind.type == FieldDescriptor.TYPE_STRING:
            if repeated:
                content[:] = [_text(item) for item in content]
            else:
                setattr(value, field.name, _text(content))
        elif kind.type == FieldDescriptor.TYPE_MESSAGE:
            for item in (content if repeated else [content]):
                _repair(item, kind.message_type)


def _text(raw: bytes) -> bytes:
    return raw.decode("utf-8", "replace").encode("utf-8")


@functools.cache
def _lenient_class(message: type):
    """`message`'s type, and every type it holds, in a pool of its own whose string fields are bytes."""
    pool = descriptor_pool.DescriptorPool()
    added: set[str] = set()

    def add(file) -> None:
        if file.name in added:
            return
        for dependency in file.dependencies:
            add(dependency)
        proto = descriptor_pb2.FileDescriptorProto()
        file.CopyToProto(proto)
        for declared in proto.message_type:
            _strings_as_bytes(declared)
        pool.Add(proto)
        added.add(file.name)

    add(message.DESCRIPTOR.file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(message.DESCRIPTOR.full_name))


def _strings_as_bytes(declared: descriptor_pb2.DescriptorProto) -> None:
    for field in declared.field:
        if field.type == descriptor_pb2.FieldDescriptorProto.TYPE_STRING:
            field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
    for nested in declared.nested_type:
        _strings_as_bytes(nested)
