"""What the end-user tests share: signing up the two ways the SDKs do, asking for a code and reading it."""
from tests.support import session, unique_phone


def sign_up(lc, username="alice", password="pw1", *, path="/1.1/users", headers=None, **fields) -> dict:
    """Sign up with a username, a password and any other `fields`, as both SDKs do (the Python SDK on
    `path="/1.1/classes/_User"`); `headers`, e.g. `session(token)`, go with the request. The 201
    answer: {objectId, createdAt, sessionToken}."""
    response = lc.post(path, {"username": username, "password": password, **fields}, **(headers or {}))
    assert response.status_code == 201, response.content
    return response.json()


def sign_up_by_phone(lc, outbox, phone=None, *, written=None, **fields) -> dict:
    """usersByMobilePhone with a requestSmsCode code to `phone` (a fresh number if None), the number
    `written` some other way if given: a new user with a verified number, or a login of the number's
    user. The full user it answers."""
    phone = phone or unique_phone()
    code = code_for(lc, outbox, phone)
    response = lc.post("/1.1/usersByMobilePhone", {"mobilePhoneNumber": written or phone, "smsCode": code, **fields})
    assert response.status_code == 200, response.content
    return response.json()


def code_for(lc, outbox, phone, path="/1.1/requestSmsCode", **headers) -> str:
    """Ask `path` for a code to `phone` (which answers `{}`) and read the code from the outbox."""
    response = lc.post(path, {"mobilePhoneNumber": phone}, **headers)
    assert (response.status_code, response.json()) == (200, {}), response.content
    return outbox.last_code(phone)


def me(lc, token) -> dict:
    """The user of session `token`, as `/users/me` shows it."""
    response = lc.get("/1.1/users/me", **session(token))
    assert response.status_code == 200, response.content
    return response.json()
