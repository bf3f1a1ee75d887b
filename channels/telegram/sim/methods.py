"""The Bot API methods the bot calls, as the fake answers them (CHANNELS.md, "Telegram
Bot API fake", points 3 and 6). ``getUpdates``, which waits, lives in the server.

Every handler takes the state and the call's parameters and answers an envelope, or
raises :class:`~channels.telegram.sim.wire.ApiError` with Telegram's own description.
Method names are case-insensitive, as Telegram's are.
"""

from collections.abc import Callable
from typing import Any

from channels.telegram.sim.model import Webhook
from channels.telegram.sim.state import MAX_DOWNLOAD, BotState
from channels.telegram.sim.wire import Params, bad_request, ok
from channels.telegram.webhook import valid_secret

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_BUTTONS = 100
MAX_ANSWER_TEXT = 200
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"

Handler = Callable[[BotState, Params], dict[str, Any]]


def get_me(state: BotState, params: Params) -> dict[str, Any]:
    return ok(state.me())


def send_message(state: BotState, params: Params) -> dict[str, Any]:
    chat_id = _before_send(state, params, "sendMessage")
    text = params.text("text") or ""
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request("message is too long")
    return _send(state, params, "sendMessage", chat_id, {"text": text})


def send_location(state: BotState, params: Params) -> dict[str, Any]:
    chat_id = _before_send(state, params, "sendLocation")
    lat, lon = params.number("latitude"), params.number("longitude")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise bad_request("wrong coordinates")
    return _send(state, params, "sendLocation", chat_id, {"location": _location(lat, lon)})


def send_photo(state: BotState, params: Params) -> dict[str, Any]:
    chat_id = _before_send(state, params, "sendPhoto")
    caption = params.text("caption")
    if caption is not None and len(caption) > MAX_CAPTION:
        raise bad_request("message caption is too long")
    if "photo" in params.files:
        data = params.files["photo"]
    else:
        reference = params.text("photo") or ""
        if reference in state.files:
            data = state.files[reference].data
        elif reference.startswith(("http://", "https://")):
            data = b"\xff\xd8\xff\xe0 fake photo fetched from " + reference.encode()
        else:
            raise bad_request("wrong file identifier/HTTP URL specified")
    fields: dict[str, Any] = {"photo": state.photo_sizes(data, width=1280, height=960)}
    if caption:
        fields["caption"] = caption
    return _send(state, params, "sendPhoto", chat_id, fields)


def send_chat_action(state: BotState, params: Params) -> dict[str, Any]:
    chat_id = params.chat_id()
    state.apply_scripts("sendChatAction", chat_id)
    state.writable(chat_id)
    if not params.has("action"):
        raise bad_request("action is empty")
    return ok(True)


def edit_message_text(state: BotState, params: Params) -> dict[str, Any]:
    text = params.text("text") or ""
    if not text.strip():
        raise bad_request("message text is empty")
    if len(text) > MAX_TEXT:
        raise bad_request("message is too long")
    return _edit(state, params, {"text": text}, check_markup(params.object("reply_markup")))


def edit_message_reply_markup(state: BotState, params: Params) -> dict[str, Any]:
    return _edit(state, params, {}, check_markup(params.object("reply_markup")))


def answer_callback_query(state: BotState, params: Params) -> dict[str, Any]:
    query = state.queries.get(params.text("callback_query_id") or "")
    if query is None or query.answered:
        raise bad_request(QUERY_TOO_OLD)
    text = params.text("text")
    if text is not None and len(text) > MAX_ANSWER_TEXT:
        raise bad_request("MESSAGE_TOO_LONG")
    query.answered, query.text, query.show_alert = True, text, params.flag("show_alert")
    return ok(True)


def get_file(state: BotState, params: Params) -> dict[str, Any]:
    stored = state.files.get(params.text("file_id") or "")
    if stored is None:
        raise bad_request("invalid file_id")
    if len(stored.data) > MAX_DOWNLOAD:
        raise bad_request("file is too big")
    result: dict[str, Any] = {
        "file_id": stored.file_id,
        "file_unique_id": stored.file_unique_id,
        "file_path": stored.path,
    }
    if stored.declare_size:
        result["file_size"] = len(stored.data)
    return ok(result)


def set_webhook(state: BotState, params: Params) -> dict[str, Any]:
    url = params.text("url") or ""
    if not url:
        return delete_webhook(state, params)
    secret = params.text("secret_token")
    if secret is not None and not valid_secret(secret):
        raise bad_request("secret token contains unallowed characters")
    connections = params.integer("max_connections", 40) or 40
    if not 1 <= connections <= 100:
        raise bad_request("invalid max_connections specified")
    allowed = _allowed_updates(params, state.webhook.allowed_updates)
    if params.flag("drop_pending_updates"):
        state.pending.clear()
    state.webhook = Webhook(
        url=url, secret_token=secret, allowed_updates=allowed, max_connections=connections
    )
    return ok(True, "Webhook was set")


def delete_webhook(state: BotState, params: Params) -> dict[str, Any]:
    had = bool(state.webhook.url)
    if params.flag("drop_pending_updates"):
        state.pending.clear()
    state.webhook = Webhook(allowed_updates=state.webhook.allowed_updates)
    return ok(True, "Webhook was deleted" if had else "Webhook is already deleted")


def get_webhook_info(state: BotState, params: Params) -> dict[str, Any]:
    hook = state.webhook
    info: dict[str, Any] = {
        "url": hook.url,
        "has_custom_certificate": False,
        "pending_update_count": len(state.pending),
    }
    if hook.url:
        info["max_connections"] = hook.max_connections
        if hook.allowed_updates:
            info["allowed_updates"] = list(hook.allowed_updates)
    if hook.last_error_date is not None:
        info["last_error_date"] = hook.last_error_date
        info["last_error_message"] = hook.last_error_message
    return ok(info)


def check_markup(markup: Any) -> dict[str, Any] | None:
    """A ``reply_markup`` Telegram would accept, or its 400."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse inline keyboard markup JSON object")
        if sum(len(row) for row in rows) > MAX_BUTTONS:
            raise bad_request("too many inline keyboard buttons")
        for button in (button for row in rows for button in row):
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request("can't parse inline keyboard button: Text must be a string")
            data = button.get("callback_data")
            if data is None and "url" not in button:
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise bad_request("BUTTON_DATA_INVALID")
    elif "keyboard" in markup:
        if not isinstance(markup["keyboard"], list):
            raise bad_request("can't parse reply keyboard markup JSON object")
    elif not ({"remove_keyboard", "force_reply"} & markup.keys()):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _before_send(state: BotState, params: Params, method: str) -> int:
    chat_id = params.chat_id()
    state.apply_scripts(method, chat_id)
    state.writable(chat_id)
    return chat_id


def _send(
    state: BotState, params: Params, method: str, chat_id: int, fields: dict[str, Any]
) -> dict[str, Any]:
    markup = check_markup(params.object("reply_markup"))
    state.check_flood(chat_id)
    chat = state.chat(chat_id)
    message: dict[str, Any] = {
        "message_id": chat.next_message_id(),
        "from": state.bot_user(),
        "chat": chat.chat_json(),
        "date": state.now(),
        **fields,
    }
    if markup is not None and "inline_keyboard" in markup:
        message["reply_markup"] = markup  # Telegram echoes inline keyboards only
    state.store(chat, message, by_bot=True)
    state.count_send(chat_id)
    state.record_sent(method, chat_id, message, markup)
    return ok(message)


def _edit(
    state: BotState, params: Params, fields: dict[str, Any], markup: dict[str, Any] | None
) -> dict[str, Any]:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")  # the bot sends no inline-mode messages
    chat_id = params.chat_id()
    state.writable(chat_id)
    message_id = params.integer("message_id")
    key = (chat_id, message_id or 0)
    current = state.messages.get(key)
    if current is None:
        raise bad_request("message to edit not found")
    if key not in state.by_bot:
        raise bad_request("message can't be edited")
    if markup is not None and "inline_keyboard" not in markup:
        raise bad_request("inline keyboard expected")
    unchanged = {k: v for k, v in current.items() if k != "edit_date"}
    edited = {**unchanged, **fields}
    edited.pop("reply_markup", None)
    if markup is not None and markup.get("inline_keyboard"):
        edited["reply_markup"] = markup
    if edited == unchanged:
        raise bad_request(NOT_MODIFIED)
    edited["edit_date"] = state.now()
    state.messages[key] = edited
    return ok(edited)


def _allowed_updates(params: Params, current: tuple[str, ...]) -> tuple[str, ...]:
    value = params.object("allowed_updates")
    if value is None:
        return current  # Telegram keeps the previous setting
    if not isinstance(value, list) or not all(isinstance(kind, str) for kind in value):
        raise bad_request("can't parse allowed updates")
    return tuple(value)


def _location(lat: float, lon: float) -> dict[str, Any]:
    return {"latitude": lat, "longitude": lon}


HANDLERS: dict[str, Handler] = {
    name.lower(): handler
    for name, handler in {
        "getMe": get_me,
        "sendMessage": send_message,
        "sendLocation": send_location,
        "sendPhoto": send_photo,
        "sendChatAction": send_chat_action,
        "editMessageText": edit_message_text,
        "editMessageReplyMarkup": edit_message_reply_markup,
        "answerCallbackQuery": answer_callback_query,
        "getFile": get_file,
        "setWebhook": set_webhook,
        "deleteWebhook": delete_webhook,
        "getWebhookInfo": get_webhook_info,
    }.items()
}
