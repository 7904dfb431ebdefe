#!/usr/bin/env python3
"""Writes the 8x8 images in this folder, each carrying generation settings the way one
program writes them (tests/core/tst_foreign_metadata.cpp reads them back). The shapes follow
the programs' own writers: the web UI's `parameters` text (PNG text chunk; in JPEG and WebP
the EXIF UserComment, as piexif writes it: "UNICODE\\0" + UTF-16BE in a big-endian TIFF);
ComfyUI's `prompt` (API graph) and `workflow` (editor graph) chunks, in WebP as EXIF Model
"prompt:{...}" and Make "workflow:{...}"; InvokeAI's `invokeai_metadata` (3.x and 4.x) and
`sd-metadata` (2.x); Fooocus's `parameters` JSON with `fooocus_scheme`, and its a1111 scheme
in a JPEG's EXIF (UserComment without a code, as Pillow writes a str; MakerNote "a1111";
Software); NovelAI's Title/Description/Software/Source/Comment chunks (V3 and V4 prompts).
Run from anywhere; the files are checked in, so this is needed only to change them."""
import base64
import json
import pathlib
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent

# 8x8 pictures: a baseline JPEG and a lossless WebP (VP8L), made once with OpenCV.
BASE_JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAA0JCgsKCA0LCgsODg0PEyAVExISEyccHhcgLikxMC4pLSwzOko+MzZGNywtQFdBRkxOUlNSMj5a"
    "YVpQYEpRUk//2wBDAQ4ODhMREyYVFSZPNS01T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT0//wAAR"
    "CAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEG"
    "E1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWG"
    "h4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEB"
    "AQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYk"
    "NOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0"
    "tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwCCDw70+T9KKKK1yzF1fq61OWeOrX3P/9k=")
BASE_WEBP = base64.b64decode("UklGRi4AAABXRUJQVlA4TCIAAAAvB8ABAJkyRPQ/NhHR/wBhtlFRzp9zryMYwAGJCRB7oP8A")


# --- containers ---------------------------------------------------------------------------

def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(chunks):
    """An 8x8 grey PNG with the given (type, body) chunks before the image data."""
    rows = b"".join(b"\x00" + bytes(range(8 * 3)) for _ in range(8))
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
    for kind, body in chunks:
        out += png_chunk(kind, body)
    return out + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b"")


def text(key, value):
    return b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1")


def ztext(key, value):
    return b"zTXt", key.encode("latin-1") + b"\0\0" + zlib.compress(value.encode("latin-1"))


def itext(key, value, compressed):
    data = value.encode("utf-8")
    if compressed:
        data = zlib.compress(data)
    return b"iTXt", key.encode("latin-1") + b"\0" + bytes([1 if compressed else 0, 0]) + b"\0\0" + data


def tiff(ifd0, exif_ifd, big_endian):
    """A TIFF block: IFD0 entries (with a pointer to the Exif IFD when it has entries).
    Entries are (tag, type, bytes); values over four bytes go after the IFDs."""
    e = ">" if big_endian else "<"
    ifd0 = list(ifd0)
    if exif_ifd:
        ifd0.append((0x8769, 4, None))  # the pointer, filled in below

    def layout(entries, start):
        data_at = start + 2 + 12 * len(entries) + 4
        return data_at

    def write_ifd(entries, start, pointer_to=None):
        data_at = layout(entries, start)
        head, data = struct.pack(e + "H", len(entries)), b""
        for tag, kind, value in sorted(entries, key=lambda t: t[0]):
            if value is None:
                head += struct.pack(e + "HHII", tag, kind, 1, pointer_to)
                continue
            count = len(value) // {1: 1, 2: 1, 3: 2, 4: 4, 7: 1}[kind]
            if len(value) <= 4:
                head += struct.pack(e + "HHI", tag, kind, count) + value.ljust(4, b"\0")
            else:
                head += struct.pack(e + "HHII", tag, kind, count, data_at + len(data))
                data += value + (b"\0" if len(value) % 2 else b"")
        return head + struct.pack(e + "I", 0) + data

    header = (b"MM\0*" if big_endian else b"II*\0") + struct.pack(e + "I", 8)
    size0 = len(write_ifd(ifd0, 8, 0))
    exif_at = 8 + size0
    out = header + write_ifd(ifd0, 8, exif_at)
    if exif_ifd:
        out += write_ifd(exif_ifd, exif_at)
    return out


def ascii_field(tag, value):
    return tag, 2, value.encode("utf-8") + b"\0"


def user_comment(value, code, big_endian_text=True):
    if code == "UNICODE":
        body = b"UNICODE\0" + value.encode("utf-16-be" if big_endian_text else "utf-16-le")
    elif code == "ASCII":
        body = b"ASCII\0\0\0" + value.encode("ascii")
    else:  # no code: Pillow, given a str
        body = value.encode("ascii", "replace")
    return 0x9286, 7, body


def jpeg(exif):
    app1 = b"Exif\0\0" + exif
    return BASE_JPEG[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + BASE_JPEG[2:]


def webp(exif):
    """The extended format: VP8X (flags: EXIF), the picture's VP8L chunk, then EXIF."""
    vp8x = struct.pack("<I", 0x08) + (7).to_bytes(3, "little") + (7).to_bytes(3, "little")
    picture = BASE_WEBP[12:]
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x + picture
    body += b"EXIF" + struct.pack("<I", len(exif)) + exif + (b"\0" if len(exif) % 2 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + body


# --- what each program writes -------------------------------------------------------------

WEBUI = ("masterpiece, a castle on a hill, <lora:detail:0.6>\n"
         "Negative prompt: blurry, lowres\n"
         "Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 123456789, Size: 512x768, "
         "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Clip skip: 2, ADetailer model: face_yolov8n.pt, "
         "Lora hashes: \"detail: 0123456789ab\", Version: v1.9.4")
WEBUI_FORGE = ("桜の木の下の猫, watercolor\n"
               "Steps: 12, Sampler: Euler, Schedule type: Exponential, CFG scale: 3.5, Seed: 7, Size: 768x512, "
               "Model: flatColor, RNG: CPU, Version: f2.0.1v1.10.1-previous-313-g8a042934")
WEBUI_LATIN1 = ("a café terrace at night\nNegative prompt: people\n"
                "Steps: 24, Sampler: Euler a, Schedule type: Automatic, CFG scale: 6, Seed: 99, Size: 640x448, "
                "Model: dreamshaper_8, Version: v1.10.1")
WEBUI_EXIF = ("a lighthouse in a storm ☂\nNegative prompt: sunny\n"
              "Steps: 28, Sampler: DDIM, CFG scale: 9, Seed: 31337, Size: 512x512, Model: v1-5-pruned-emaonly, "
              "Version: v1.9.4")
WEBUI_ASCII = ("a lighthouse in a storm\nNegative prompt: sunny\n"
               "Steps: 28, Sampler: UniPC, CFG scale: 9, Seed: 31337, Size: 512x512, Version: v1.9.4")

COMFY_PROMPT = {
    "3": {"class_type": "KSampler", "inputs": {
        "seed": 156680208700286, "steps": 20, "cfg": 8, "sampler_name": "dpmpp_2m", "scheduler": "karras",
        "denoise": 1, "model": ["11", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd15\\v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 768, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {
        "text": "beautiful scenery nature glass bottle landscape, purple galaxy bottle", "clip": ["12", 0]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["12", 0]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    "10": {"class_type": "LoraLoader", "inputs": {
        "lora_name": "styles/watercolor.safetensors", "strength_model": 0.8, "strength_clip": 0.8,
        "model": ["4", 0], "clip": ["4", 1]}},
    "11": {"class_type": "LoraLoader", "inputs": {
        "lora_name": "detail_tweaker.safetensors", "strength_model": 0.5, "strength_clip": 1.0,
        "model": ["10", 0], "clip": ["10", 1]}},
    "12": {"class_type": "CLIPSetLastLayer", "inputs": {"stop_at_clip_layer": -2, "clip": ["11", 1]}},
}

# SDXL prompts combined, a ControlNet between the prompts and the sampler, a seed from a
# node of its own, a batch of two, a second (hires) pass and a schedule we lack.
COMFY_ADVANCED = {
    "1": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    "2": {"class_type": "CLIPTextEncodeSDXL", "inputs": {
        "width": 4096, "height": 4096, "crop_w": 0, "crop_h": 0, "target_width": 4096, "target_height": 4096,
        "text_g": "a castle on a hill", "text_l": "castle, watercolor", "clip": ["1", 1]}},
    "3": {"class_type": "CLIPTextEncode", "inputs": {"text": "golden hour", "clip": ["1", 1]}},
    "4": {"class_type": "ConditioningCombine", "inputs": {"conditioning_1": ["2", 0], "conditioning_2": ["3", 0]}},
    "5": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["1", 1]}},
    "6": {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "canny.safetensors"}},
    "7": {"class_type": "ControlNetApplyAdvanced", "inputs": {
        "positive": ["4", 0], "negative": ["5", 0], "control_net": ["6", 0], "image": ["8", 0],
        "strength": 0.7, "start_percent": 0, "end_percent": 1}},
    "8": {"class_type": "LoadImage", "inputs": {"image": "edges.png"}},
    "9": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 2}},
    "10": {"class_type": "KSamplerAdvanced", "inputs": {
        "add_noise": "enable", "noise_seed": ["14", 0], "steps": 30, "cfg": 6.5, "sampler_name": "euler_ancestral",
        "scheduler": "exponential", "start_at_step": 0, "end_at_step": 10000, "return_with_leftover_noise": "disable",
        "model": ["1", 0], "positive": ["7", 0], "negative": ["7", 1], "latent_image": ["9", 0]}},
    "11": {"class_type": "LatentUpscaleBy", "inputs": {
        "samples": ["10", 0], "upscale_method": "nearest-exact", "scale_by": 1.5}},
    "12": {"class_type": "KSampler", "inputs": {
        "seed": 42, "steps": 15, "cfg": 6.5, "sampler_name": "euler", "scheduler": "normal", "denoise": 0.5,
        "model": ["1", 0], "positive": ["7", 0], "negative": ["7", 1], "latent_image": ["11", 0]}},
    "14": {"class_type": "Seed (rgthree)", "inputs": {"seed": 42}},
}

# The editor's graph only: widget values by position, a seed from a primitive node, the
# prompt through a reroute.
COMFY_WORKFLOW = {
    "last_node_id": 11, "last_link_id": 9, "version": 0.4,
    "nodes": [
        {"id": 4, "type": "CheckpointLoaderSimple", "inputs": [], "widgets_values": ["v1-5-pruned-emaonly.ckpt"]},
        {"id": 5, "type": "EmptyLatentImage", "inputs": [], "widgets_values": [640, 448, 1]},
        {"id": 6, "type": "CLIPTextEncode", "inputs": [{"name": "clip", "type": "CLIP", "link": 3}],
         "widgets_values": ["a red fox in snow"]},
        {"id": 7, "type": "CLIPTextEncode", "inputs": [{"name": "clip", "type": "CLIP", "link": 5}],
         "widgets_values": ["lowres"]},
        {"id": 3, "type": "KSampler", "inputs": [
            {"name": "model", "type": "MODEL", "link": 1}, {"name": "positive", "type": "CONDITIONING", "link": 4},
            {"name": "negative", "type": "CONDITIONING", "link": 6},
            {"name": "latent_image", "type": "LATENT", "link": 2},
            {"name": "seed", "type": "INT", "link": 9, "widget": {"name": "seed"}}],
         "widgets_values": [1, "randomize", 25, 7.5, "euler", "normal", 1]},
        {"id": 10, "type": "Reroute", "inputs": [{"name": "", "type": "*", "link": 7}]},
        {"id": 11, "type": "PrimitiveNode", "inputs": [], "widgets_values": [777, "fixed"]},
    ],
    "links": [[1, 4, 0, 3, 0, "MODEL"], [2, 5, 0, 3, 3, "LATENT"], [3, 4, 1, 6, 0, "CLIP"],
              [4, 10, 0, 3, 1, "CONDITIONING"], [5, 4, 1, 7, 0, "CLIP"], [6, 7, 0, 3, 2, "CONDITIONING"],
              [7, 6, 0, 10, 0, "*"], [9, 11, 0, 3, 4, "INT"]],
}

INVOKEAI_4 = {
    "generation_mode": "txt2img", "positive_prompt": "a cozy cabin in the woods, (snow)1.2",
    "negative_prompt": "blurry", "width": 768, "height": 512, "seed": 3005843419, "rand_device": "cpu",
    "cfg_scale": 6.5, "cfg_rescale_multiplier": 0, "steps": 30, "scheduler": "dpmpp_2m_k", "seamless_x": False,
    "seamless_y": False, "clip_skip": 1,
    "model": {"key": "5f0a1c", "hash": "blake3:9a8b7c", "name": "Deliberate v2", "base": "sd-1", "type": "main"},
    "loras": [{"model": {"key": "77aa", "hash": "blake3:1234", "name": "add_detail", "base": "sd-1", "type": "lora"},
               "weight": 0.75}],
    "vae": {"key": "31bb", "hash": "blake3:5678", "name": "sd-vae-ft-mse", "base": "sd-1", "type": "vae"},
    "hrf_enabled": True, "hrf_method": "ESRGAN", "hrf_strength": 0.45, "app_version": "4.2.9",
}
INVOKEAI_3 = {
    "app_version": "3.3.0post3", "generation_mode": "txt2img", "positive_prompt": "landscape",
    "negative_prompt": "low quality", "width": 768, "height": 432, "seed": 356120443, "rand_device": "cuda",
    "cfg_scale": 7.5, "steps": 50, "scheduler": "heun_k", "clip_skip": 0,
    "model": {"model_name": "amixx_3Prunedfp16", "base_model": "sd-1", "model_type": "main"},
    "controlnets": [], "ipAdapters": [], "t2iAdapters": [],
    "loras": [{"lora": {"model_name": "film_grain", "base_model": "sd-1"}, "weight": 0.5}],
    "vae": {"model_name": "sd-vae-ft-mse", "base_model": "sd-1"},
}
INVOKEAI_2 = {
    "model": "stable diffusion", "model_weights": "stable-diffusion-1.5",
    "model_hash": "cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516",
    "app_id": "invoke-ai/InvokeAI", "app_version": "2.3.0",
    "image": {"prompt": [{"prompt": "a photo of an astronaut riding a horse [lowres, ugly]", "weight": 1.0}],
              "steps": 50, "cfg_scale": 7.5, "threshold": 0, "perlin": 0, "height": 512, "width": 512,
              "seed": 1234567, "seamless": False, "hires_fix": False, "type": "txt2img", "postprocessing": None,
              "sampler": "k_euler_a", "variations": []},
}

FOOOCUS = {
    "adm_guidance": "(1.5, 0.8, 0.3)", "base_model": "juggernautXL_v8Rundiffusion.safetensors",
    "base_model_hash": "aeb7e9e6897a1e58b10494bd989d001e3d4bc9b634633cd7b559838f612c2867", "clip_skip": 2,
    "full_negative_prompt": ["unrealistic, saturated", "(worst quality, low quality)"],
    "full_prompt": ["a lighthouse at dawn", "cinematic still, emotional"], "guidance_scale": 4,
    "loras": [["sd_xl_offset_example-lora_1.0", 0.1, "4852686128"]], "metadata_scheme": "fooocus",
    "negative_prompt": "", "performance": "Speed", "prompt": "a lighthouse at dawn", "refiner_model": "None",
    "refiner_switch": 0.5, "resolution": "(1152, 896)", "sampler": "dpmpp_2m_sde_gpu", "scheduler": "karras",
    "seed": "1234567890123", "sharpness": 2, "steps": 30,
    "styles": "['Fooocus V2', 'Fooocus Enhance', 'Fooocus Sharp']", "vae": "Default (model)",
    "version": "Fooocus v2.5.5",
}
FOOOCUS_A1111 = ("a lighthouse at dawn, cinematic still\nNegative prompt: unrealistic\n"
                 "Steps: 30, Sampler: DPM++ 2M SDE Karras, Seed: 99, Size: 1152x896, CFG scale: 4, Sharpness: 2, "
                 "ADM Guidance: \"(1.5, 0.8, 0.3)\", Model: juggernautXL_v8Rundiffusion, Model hash: aeb7e9e689, "
                 "Performance: Speed, Scheduler: karras, VAE: Default (model), "
                 "Lora hashes: \"sd_xl_offset: 4852686128\", Lora weights: \"sd_xl_offset: 0.1\", "
                 "Version: Fooocus v2.5.5")

NOVELAI_3 = {
    "prompt": "1girl, solo, masterpiece, {{smile}}", "steps": 28, "height": 1216, "width": 832, "scale": 5.0,
    "uncond_scale": 1.0, "cfg_rescale": 0.0, "seed": 2387741283, "n_samples": 1, "hide_debug_overlay": False,
    "noise_schedule": "native", "legacy_v3_extend": False, "reference_information_extracted_multiple": [],
    "reference_strength_multiple": [], "sampler": "k_euler_ancestral", "controlnet_strength": 1.0,
    "controlnet_model": None, "dynamic_thresholding": False, "dynamic_thresholding_percentile": 0.999,
    "dynamic_thresholding_mimic_scale": 10.0, "sm": True, "sm_dyn": False, "skip_cfg_above_sigma": None,
    "skip_cfg_below_sigma": 0.0, "lora_unet_weights": None, "lora_clip_weights": None,
    "deliberate_euler_ancestral_bug": True, "prefer_brownian": False,
    "cfg_sched_eligibility": "enable_for_post_summer_samplers", "explike_fine_detail": False,
    "minimize_sigma_inf": False, "uncond_per_vibe": True, "wonky_vibe_correlation": True, "version": 1,
    "uc": "lowres, bad anatomy", "request_type": "PromptGenerateRequest", "signed_hash": "c2lnbmVk",
}
NOVELAI_4 = {
    "prompt": "2girls, park", "steps": 23, "height": 1024, "width": 1024, "scale": 6, "uncond_scale": 1.0,
    "cfg_rescale": 0.2, "seed": 1, "n_samples": 1, "noise_schedule": "karras", "sampler": "k_dpmpp_2m",
    "v4_prompt": {"caption": {"base_caption": "2girls, park", "char_captions": [
        {"char_caption": "girl, red hair", "centers": [{"x": 0.3, "y": 0.5}]},
        {"char_caption": "girl, blue hair", "centers": [{"x": 0.7, "y": 0.5}]}]},
        "use_coords": True, "use_order": True},
    "v4_negative_prompt": {"caption": {"base_caption": "blurry", "char_captions": []}},
    "uc": "blurry", "request_type": "PromptGenerateRequest", "signed_hash": "c2lnbmVk",
}


def novelai(comment, description, source):
    return png([text("Title", "AI generated image"), text("Description", description), text("Software", "NovelAI"),
                text("Source", source), text("Generation time", "3.2"), text("Comment", json.dumps(comment))])


def main():
    files = {
        "webui.png": png([text("parameters", WEBUI)]),
        "webui_forge_itxt.png": png([itext("parameters", WEBUI_FORGE, compressed=True)]),
        "webui_latin1_ztxt.png": png([ztext("parameters", WEBUI_LATIN1)]),
        # piexif: big-endian TIFF, "UNICODE" + UTF-16BE
        "webui.jpg": jpeg(tiff([], [user_comment(WEBUI_EXIF, "UNICODE")], big_endian=True)),
        # a little-endian writer: UTF-16LE in a little-endian TIFF
        "webui_le.webp": webp(tiff([], [user_comment(WEBUI_EXIF, "UNICODE", big_endian_text=False)], big_endian=False)),
        # piexif's big-endian text inside a little-endian TIFF (Pillow re-saving piexif's bytes)
        "webui_be_text_le_file.webp": webp(tiff([], [user_comment(WEBUI_EXIF, "UNICODE")], big_endian=False)),
        "webui_ascii.jpg": jpeg(tiff([], [user_comment(WEBUI_ASCII, "ASCII")], big_endian=False)),
        "comfyui.png": png([text("prompt", json.dumps(COMFY_PROMPT)), text("workflow", json.dumps(COMFY_WORKFLOW))]),
        "comfyui_advanced.png": png([text("prompt", json.dumps(COMFY_ADVANCED))]),
        "comfyui_workflow_only.png": png([text("workflow", json.dumps(COMFY_WORKFLOW))]),
        "comfyui.webp": webp(tiff([ascii_field(0x0110, "prompt:" + json.dumps(COMFY_PROMPT)),
                                   ascii_field(0x010F, "workflow:" + json.dumps(COMFY_WORKFLOW))], [], False)),
        "invokeai.png": png([text("invokeai_metadata", json.dumps(INVOKEAI_4))]),
        "invokeai_v3.png": png([text("invokeai_metadata", json.dumps(INVOKEAI_3))]),
        "invokeai_v2.png": png([text("sd-metadata", json.dumps(INVOKEAI_2)), text("Dream", "\"a photo\" -s 50")]),
        "fooocus.png": png([text("parameters", json.dumps(FOOOCUS)), text("fooocus_scheme", "fooocus")]),
        "fooocus_a1111.jpg": jpeg(tiff([ascii_field(0x0131, "Fooocus v2.5.5")],
                                       [user_comment(FOOOCUS_A1111, None), (0x927C, 7, b"a1111")], big_endian=False)),
        "novelai.png": novelai(NOVELAI_3, NOVELAI_3["prompt"], "Stable Diffusion XL C1E1DE52"),
        "novelai_v4.png": novelai(NOVELAI_4, NOVELAI_4["prompt"], "NovelAI Diffusion V4 4F49EC75"),
        "no_settings.png": png([]),
        "not_an_image.png": b"This is a text file with an image's name.\n",
    }
    for name, data in files.items():
        (HERE / name).write_bytes(data)


if __name__ == "__main__":
    main()
