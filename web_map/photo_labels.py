"""Words of the case file's photos on the pages (issue 16), in one place for the catalogue.

Handed to the page scripts in their JSON config (`photo_text`, `photo_stages`) and used by the
print page; Chinese first, as everywhere on the pages.
"""

from __future__ import annotations

from typing import Any

# stage → (Chinese, English); order is the loop's order.
STAGES: dict[str, tuple[str, str]] = {
    "report": ("上报照片", "Reported"),
    "info": ("补充照片", "More information"),
    "before": ("处置前", "Before"),
    "after": ("处置后", "After"),
    "verify": ("核查照片", "Verification"),
}

TEXT: dict[str, str] = {
    "photos": "照片 Photos",
    "camera": "拍照 Take a photo",
    "add": "从相册选择 Choose photos",
    "remove": "移除 Remove",
    "none": "暂无照片 No photos yet",
    "too_many": "最多 {max} 张照片 At most {max} photos",
    "too_big": "照片过大（上限 {mb} MB）Photo too large (limit {mb} MB)",
    "uploading": "上传中 Uploading…",
    "use_gps": "使用照片拍摄位置 Use where the photo was taken",
    "gps_found": "照片带有拍摄位置 This photo knows where it was taken",
    "hidden": "已隐藏 Hidden from the public",
    "close": "关闭 Close",
    "hide": "对公众隐藏 Hide from the public",
    "hide_reason": "隐藏理由（必填）Reason (required)",
    "taken": "拍摄 Taken",
    "by": "上传人 By",
    "before_after": "处置前后对比 Before and after",
    "upload_failed": "照片上传失败 Photo upload failed",
    "print": "打印案卷 Print case file",
    "after_photos": "处置后照片 Photos after the work",
    "before_photos": "处置前照片 Photos before the work",
    "verify_photos": "核查照片 Verification photos",
    "info_photos": "补充照片 Photos with the information",
}

# Which stage each workflow form's photos are uploaded as (api/services/photo_rules.py).
ACTION_STAGES: dict[str, list[str]] = {
    "handle": ["before", "after"],
    "verify": ["verify"],
    "self_handle": ["verify"],
    "add_info": ["info"],
}


def photo_labels(max_photos: int = 9, max_photo_bytes: int = 10 * 1024 * 1024) -> dict[str, Any]:
    """The photo words and limits as JSON-ready data for a page config."""
    return {
        "photo_text": dict(TEXT),
        "photo_stages": {k: {"zh": z, "en": e} for k, (z, e) in STAGES.items()},
        "photo_action_stages": ACTION_STAGES,
        "photo_limits": {"max": max_photos, "bytes": max_photo_bytes},
    }
