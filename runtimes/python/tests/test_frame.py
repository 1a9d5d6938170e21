"""Framing against the shared wire vectors (fixtures/vectors, spec §13 V1–V7)."""
import pytest

from conftest import vector
from msec import FrameDecoder, RpcHead, SrpcError, check_frame, color_id, decode_head, encode_frame, encode_head, split_frame
from msec.errors import errmsg

HEAD_VECTORS = [
    "v1-python-client-request.json",
    "v2-minimal-request.json",
    "v3-unknown-method-response.json",
    "v4-java-client-request.json",
    "v5-csrpcproxy-request.json",
    "v9-deadline-request.json",
]


def head_from_json(h: dict) -> RpcHead:
    def b(key: str):
        return h[key].encode("utf-8") if key in h else None

    return RpcHead(
        sequence=int(h["sequence"]),
        method_name=h["method_name"].encode("utf-8"),
        coloring=h.get("coloring"),
        color_id=int(h["color_id"]) if "color_id" in h else None,
        flow_id=int(h["flow_id"]) if "flow_id" in h else None,
        err=h.get("err"),
        result=h.get("result"),
        err_msg=b("err_msg"),
        caller=b("caller"),
        caller_stack=[s.encode("utf-8") for s in h.get("caller_stack", [])],
        timeout_ms=h.get("timeout_ms"),
    )


@pytest.mark.parametrize("name", HEAD_VECTORS)
def test_head_encodes_byte_identically_to_the_vector(name):
    v = vector(name)
    assert encode_head(head_from_json(v["head"])).hex() == v["head_hex"]


@pytest.mark.parametrize("name", HEAD_VECTORS)
def test_head_decodes_to_the_vector_fields(name):
    v = vector(name)
    assert decode_head(bytes.fromhex(v["head_hex"])) == head_from_json(v["head"])


@pytest.mark.parametrize("name", [n for n in HEAD_VECTORS if "frame_hex" in vector(n)])
def test_frame_encodes_and_splits_as_the_vector(name):
    v = vector(name)
    head, body = bytes.fromhex(v["head_hex"]), bytes.fromhex(v.get("body_hex", ""))
    frame = encode_frame(head, body)
    assert frame.hex() == v["frame_hex"]
    assert len(frame) == v["frame_length"]
    assert split_frame(frame) == (head, body)


def test_v9_timeout_ms_is_written_last_and_leaves_the_msec_bytes_as_v1():
    v = vector("v9-deadline-request.json")
    assert v["head_hex"] == v["msec_head_hex"] + "b004ac02"
    assert encode_head(head_from_json(v["head"]).with_fields(timeout_ms=None)).hex() == v["msec_head_hex"]
    for h in v["heads"]:
        assert encode_head(head_from_json(h["head"])).hex() == h["head_hex"], h["name"]
        assert decode_head(bytes.fromhex(h["head_hex"])) == head_from_json(h["head"]), h["name"]
    # An error answer: err inserted at its place, field 70 echoed after method_name.
    raw, _ = split_frame(bytes.fromhex(v["unknown_method"]["request_frame_hex"]))
    answer = encode_frame(encode_head(decode_head(raw).with_fields(err=-6)))
    assert answer.hex() == v["unknown_method"]["response_frame_hex"]


def test_timeout_ms_keeps_the_low_32_bits_of_a_long_varint():
    v2 = bytes.fromhex(vector("v2-minimal-request.json")["head_hex"])
    assert decode_head(v2 + bytes.fromhex("b0048580808010")).timeout_ms == 5


def test_java_server_response_head_round_trips():
    v = vector("v4-java-client-request.json")["java_server_response"]
    head = decode_head(bytes.fromhex(v["head_hex"]))
    assert head == head_from_json(v["head"])
    assert encode_head(head).hex() == v["head_hex"]


@pytest.mark.parametrize("case", vector("v6-check-pkg.json")["check"], ids=lambda c: c["name"])
def test_check_frame_follows_the_completeness_table(case):
    assert check_frame(bytes.fromhex(case["input_hex"])) == case["check"]


@pytest.mark.parametrize("case", vector("v6-check-pkg.json")["unpack"], ids=lambda c: c["name"])
def test_unpack_requires_exactly_one_valid_frame(case):
    data = bytes.fromhex(case["input_hex"])
    if case["unpack"] == 0:
        raw_head, _ = split_frame(data)
        decode_head(raw_head)
        return
    with pytest.raises(SrpcError) as err:
        raw_head, _ = split_frame(data)
        decode_head(raw_head)
    assert err.value.code == case["unpack"]


@pytest.mark.parametrize("case", vector("v7-color-ids.json")["ids"], ids=lambda c: c["name"])
def test_color_id_is_djb2_over_signed_chars(case):
    name = bytes.fromhex(case["name_utf8_hex"]).decode("utf-8")
    assert color_id(name) == int(case["djb2"])


@pytest.mark.parametrize("case", vector("v7-color-ids.json")["flow_ids"], ids=lambda c: c["method"])
def test_default_flow_id_is_color_id_xor_sequence(case):
    assert color_id(case["method"]) ^ int(case["sequence"]) == int(case["flow_id"])


def test_unknown_head_fields_are_kept_after_the_known_ones():
    v2 = bytes.fromhex(vector("v2-minimal-request.json")["head_hex"])
    extra = bytes.fromhex("f80301")  # field 63 varint 1
    head = decode_head(v2 + extra)
    assert head.unknown == extra
    assert encode_head(head.with_fields(err=-6)).hex() == vector("v3-unknown-method-response.json")["head_hex"] + "f80301"


def test_decoder_splits_consecutive_frames_fed_byte_by_byte():
    v1 = bytes.fromhex(vector("v1-python-client-request.json")["frame_hex"])
    v2 = bytes.fromhex(vector("v2-minimal-request.json")["frame_hex"])
    decoder = FrameDecoder()
    frames = []
    for b in v1 + v2 + v1:
        frames += decoder.feed(bytes([b]))
    assert frames == [v1, v2, v1]
    assert decoder.buffered == 0


def test_decoder_rejects_a_stream_not_starting_with_0x28():
    with pytest.raises(SrpcError) as err:
        FrameDecoder().feed(b"\x29")
    assert err.value.code == -3


def test_decoder_rejects_a_frame_larger_than_its_limit_from_the_lengths_alone():
    decoder = FrameDecoder(max_frame_size=100)
    with pytest.raises(SrpcError) as err:
        decoder.feed(bytes.fromhex("28" "00000010" "00001000"))
    assert err.value.code == -3


def test_decoder_rejects_a_frame_whose_end_byte_is_not_0x29():
    v1 = bytearray.fromhex(vector("v1-python-client-request.json")["frame_hex"])
    v1[-1] = 0x00
    with pytest.raises(SrpcError):
        FrameDecoder().feed(bytes(v1))


def test_error_texts_are_the_originals():
    assert errmsg(-12) == "recevice timeout"
    assert errmsg(-6) == "invalid method name"
    assert errmsg(-99) == "unkown error"
    assert str(SrpcError(-13)) == "[-13] network sendrecv failed"


def _msec_rpc_head_class():
    """``srpc.CRpcHead`` exactly as MSEC ships it (spec §1.5: proto2, fields 10–60, no field 70),
    built with libprotobuf's own descriptors, as an MSEC Python peer parses heads."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fields = [
        ("sequence", 10, F.TYPE_UINT64, F.LABEL_REQUIRED),
        ("coloring", 20, F.TYPE_UINT32, F.LABEL_OPTIONAL),
        ("color_id", 21, F.TYPE_UINT64, F.LABEL_OPTIONAL),
        ("flow_id", 30, F.TYPE_UINT64, F.LABEL_OPTIONAL),
        ("err", 40, F.TYPE_INT32, F.LABEL_OPTIONAL),
        ("result", 41, F.TYPE_INT32, F.LABEL_OPTIONAL),
        ("err_msg", 42, F.TYPE_BYTES, F.LABEL_OPTIONAL),
        ("caller", 50, F.TYPE_BYTES, F.LABEL_OPTIONAL),
        ("method_name", 51, F.TYPE_BYTES, F.LABEL_REQUIRED),
        ("caller_stack", 60, F.TYPE_BYTES, F.LABEL_REPEATED),
    ]
    file = descriptor_pb2.FileDescriptorProto(name="msec_srpc_test.proto", package="srpc", syntax="proto2")
    msg = file.message_type.add(name="CRpcHead")
    for name, number, kind, label in fields:
        msg.field.add(name=name, number=number, type=kind, label=label)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("srpc.CRpcHead"))


def test_an_msec_peer_parses_a_head_with_timeout_ms_ignores_the_field_and_echoes_it_byte_identically():
    v9 = vector("v9-deadline-request.json")
    CRpcHead = _msec_rpc_head_class()
    head = CRpcHead.FromString(bytes.fromhex(v9["head_hex"]))
    # Every MSEC field reads as V1's; field 70 is not one of them.
    v1 = CRpcHead.FromString(bytes.fromhex(v9["msec_head_hex"]))
    for name in ("sequence", "coloring", "color_id", "flow_id", "caller", "method_name"):
        assert getattr(head, name) == getattr(v1, name), name
    assert [f.name for f, _ in head.ListFields()] == [f.name for f, _ in v1.ListFields()]
    # proto2 keeps the unknown field and writes it back after the known ones: the echo is V9's head.
    assert head.SerializeToString().hex() == v9["head_hex"]
    # An MSEC server amending the head (err = -6) keeps it too, where msec-gen's encoders put it.
    request, _ = split_frame(bytes.fromhex(v9["unknown_method"]["request_frame_hex"]))
    answer = CRpcHead.FromString(request)
    answer.err = -6
    assert encode_frame(answer.SerializeToString()).hex() == v9["unknown_method"]["response_frame_hex"]
