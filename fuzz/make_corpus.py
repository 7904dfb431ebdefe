#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/ from the test data (run from anywhere; the
files are checked in, so this is needed only to refresh them). Seeds are small, valid
inputs that reach deep into each parser; the fuzzer mutates them from there."""
import base64
import json
import pathlib
import struct
import sys
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape); data laid end to end, filled with a pattern."""
    header, offset = {}, 0
    for name, dtype, shape in tensors:
        size = SIZES[dtype]
        for d in shape:
            size *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + bytes(i % 251 for i in range(offset))


def real_header_shrunk(path, keep):
    """The names, dtypes and metadata of a real file, with shapes cut to a few elements."""
    raw = path.read_bytes()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    metadata = header.pop("__metadata__", None)
    items = sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])[:keep]
    return safetensors([(k, v["dtype"], [min(d, 2) for d in v["shape"]]) for k, v in items], metadata)


def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(texts):
    """A 1x1 PNG with the given (chunk type, body) text chunks before the image data."""
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
    for kind, body in texts:
        out += png_chunk(kind, body)
    out += png_chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + png_chunk(b"IEND", b"")
    return out


def write(target, name, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def main():
    data = ROOT / "tests" / "data"
    write("fuzz_safetensors_header", "small_f32_f16", safetensors(
        [("a.weight", "F32", [2, 3]), ("b.bias", "F16", [4]), ("c", "BF16", [1, 2, 1])],
        {"format": "pt"}))
    write("fuzz_safetensors_header", "all_dtypes", safetensors(
        [(f"t{d}", d, [2]) for d in SIZES] + [("empty", "F32", [0, 3]), ("scalar", "I64", [])]))
    write("fuzz_safetensors_header", "kohya_lora", real_header_shrunk(data / "lora" / "tiny-sd-lora-kohya.safetensors", 8))
    write("fuzz_safetensors_header", "diffusers_unet", real_header_shrunk(
        data / "tiny-sd" / "unet" / "diffusion_pytorch_model.safetensors", 8))

    parameters = ("a castle on a hill, (golden hour:1.2), [fog]\nNegative prompt: blurry, lowres\n"
                  "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, "
                  "Size: 512x768, Model hash: 0123456789, Model: tiny-sd, Clip skip: 2, "
                  "Lora hashes: \"style: 0123456789ab\", Version: v1.9")
    settings = json.dumps({"prompt": "a castle", "negative_prompt": "blurry", "steps": 20, "cfg_scale": 7.5,
                           "sampler": "euler_a", "seed": 42, "width": 512, "height": 512,
                           "loras": [{"name": "style", "weight": 0.8}]})
    write("fuzz_png_metadata", "text_chunks", png([(b"tEXt", b"parameters\0" + parameters.encode()),
                                                   (b"tEXt", b"latentstudio\0" + settings.encode())]))
    write("fuzz_png_metadata", "itxt_ztxt", png([
        (b"iTXt", b"parameters\0\0\0\0\0" + "un château, 城\nSteps: 5, Seed: 7".encode()),
        (b"zTXt", b"Comment\0\0" + zlib.compress(b"compressed comment " * 20)),
        (b"iTXt", b"latentstudio\0\1\0en\0\0" + zlib.compress(settings.encode()))]))
    for image in sorted((data / "golden-img2img" / "inputs").glob("image_a*.png")):
        write("fuzz_png_metadata", image.name, image.read_bytes())

    prompts = ["a cat", "(masterpiece:1.2), [blurry], ((best quality)), \\(literal\\)",
               "a BREAK b BREAK (c:0.5) [d:1.5] <lora:style:0.8> embedding:foo",
               "((a:1.1):1.1) (unclosed [nested (deep", "a:b:c) ] ) \\ \\\\ (x:1e2) (y:-3)"]
    for i, prompt in enumerate(prompts):
        write("fuzz_prompt_parser", f"prompt_{i}", prompt)
    texts = prompts + ["Ünïcödé, 城堡, emoji 😀🎨, fullwidth ＡＢＣ, café\u0301 ﬁ",
                       "<|startoftext|>a photo<|endoftext|> of   many\tspaces\n",
                       "supercalifragilisticexpialidocious " * 10]
    for i, text in enumerate(texts):
        write("fuzz_clip_tokenizer", f"text_{i}", text)
    webui_requests(parameters)


def webui_requests(parameters):
    """Bodies of the web UI's API as clients send them to `latentstudio-cli serve`."""
    picture = base64.b64encode(png([(b"tEXt", b"parameters\0" + parameters.encode())])).decode()
    bodies = {
        "txt2img_full": {"prompt": "a red cube <lora:tiny:0.5>", "negative_prompt": "blurry", "steps": 20,
                         "width": 512, "height": 512, "seed": 11, "sampler_name": "DPM++ 2M",
                         "scheduler": "Karras", "cfg_scale": 7, "batch_size": 2, "n_iter": 2,
                         "send_images": True, "save_images": False, "alwayson_scripts": {}, "styles": [],
                         "override_settings": {"sd_model_checkpoint": "model [abc]", "CLIP_stop_at_last_layers": 2}},
        "txt2img_min": {},
        "txt2img_hires": {"prompt": "x", "enable_hr": True, "hr_scale": 2, "hr_upscaler": "Latent",
                          "hr_sampler_name": "Euler a", "denoising_strength": 0.5},
        "txt2img_wrong_types": {"steps": "20", "width": 64.5, "seed": -2, "sampler_index": 3, "restore_faces": "yes"},
        "img2img_mask": {"prompt": "x", "init_images": [picture], "mask": "data:image/png;base64," + picture,
                         "denoising_strength": 0.6, "mask_blur": 4, "inpaint_full_res": 1,
                         "inpainting_mask_invert": 1, "resize_mode": 2},
        "png_info": {"image": picture},
    }
    for name, body in bodies.items():
        write("fuzz_webui_json", name + ".json", json.dumps(body))
    write("fuzz_webui_json", "not_json.txt", '{"prompt": "x", "steps": ')


def foreign_metadata():
    """Other programs' images (tests/data/metadata) and the JSON inside them, with a ComfyUI
    graph whose links loop, dangle and point at themselves."""
    folder = ROOT / "tests" / "data" / "metadata"
    for image in sorted(folder.iterdir()):
        if image.suffix in (".png", ".jpg", ".webp") and image.name != "not_an_image.png":
            write("fuzz_image_metadata", image.name, image.read_bytes())
    sys.path.insert(0, str(folder))
    import make_metadata_files as shapes  # the programs' shapes, as the tests use them
    for name in ("COMFY_PROMPT", "COMFY_ADVANCED", "COMFY_WORKFLOW", "INVOKEAI_4", "INVOKEAI_3", "INVOKEAI_2",
                 "FOOOCUS", "NOVELAI_3", "NOVELAI_4"):
        write("fuzz_foreign_json", name.lower() + ".json", json.dumps(getattr(shapes, name)))
    loops = {"1": {"class_type": "KSampler", "inputs": {"seed": ["2", 0], "steps": ["1", 0], "positive": ["3", 0],
                                                        "negative": ["9", 0], "model": ["4", 0], "latent_image": ["1", 0]}},
             "2": {"class_type": "Primitive", "inputs": {"seed": ["2", 0]}},
             "3": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["3", 0], "conditioning_2": ["1", 0]}},
             "4": {"class_type": "LoraLoader", "inputs": {"lora_name": "a", "model": ["4", 0]}}}
    write("fuzz_foreign_json", "comfyui_loops.json", json.dumps(loops))


def qt_string(text):
    """A QString as QDataStream writes it: its UTF-16 byte count, then the UTF-16BE text."""
    data = text.encode("utf-16-be")
    return struct.pack(">I", len(data)) + data


def gallery_cache():
    """The gallery's cache files without their name and checksum (fuzz_gallery_cache adds
    both): the first byte 0 for a thumbnail record, 1 for a folder index."""
    picture = png([(b"tEXt", b"parameters\0a tiny thing")])
    record = qt_string("/pictures/00001-1.png") + struct.pack(">qq", 4242, 1700000000123)
    write("fuzz_gallery_cache", "thumbnail_record", b"\0" + record + struct.pack(">I", len(picture)) + picture)

    def utf8(text):
        data = text.encode()
        return struct.pack(">I", len(data)) + data

    def entry(name, broken, width, height, prompt, negative):
        return (qt_string(name) + struct.pack(">qq?ii", 4242, 1700000000123, broken, width, height)
                + utf8(prompt) + utf8(negative))

    entries = [entry("00001-1.png", False, 512, 768, "a lighthouse, ünïcödé", "blurry"),
               entry("broken.png", True, -1, -1, "", "")]
    write("fuzz_gallery_cache", "index_two", b"\1" + qt_string("/pictures") + struct.pack(">I", 2) + b"".join(entries))
    write("fuzz_gallery_cache", "index_empty", b"\1" + qt_string("/pictures") + struct.pack(">I", 0))


if __name__ == "__main__":
    main()
    foreign_metadata()
    gallery_cache()
