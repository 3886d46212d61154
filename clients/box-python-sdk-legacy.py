#!/usr/bin/python3
"""Adapter: Box's legacy Python SDK (boxsdk 3.14) under the kit's command contract. A Client with an
OAuth2 holding the token, its session's API config (BASE_API_URL, UPLOAD_URL) pointed at the kit's
server, then client.folder(id).get_chunked_uploader(path, name).start() with its defaults (5 threads).
With a custom UPLOAD_URL the SDK builds each session URL on it rather than following session_endpoints,
as it documents. With --box-hosts the API config is the SDK's default, Box's own hosts: graded with
--intercept, through the kit's proxy (HTTPS_PROXY) and CA (REQUESTS_CA_BUNDLE), as requests reads them."""
import os
import sys
import warnings

from box_python_sdk import env, load_sdk, report_committed

load_sdk('v3.14.0')
from boxsdk import Client, OAuth2  # noqa: E402
from boxsdk.config import API  # noqa: E402
from boxsdk.session.session import AuthorizedSession  # noqa: E402

warnings.filterwarnings('ignore', category=DeprecationWarning)  # "boxsdk is going to be deprecated": not a finding
oauth = OAuth2(client_id=None, client_secret=None, access_token=env('UPLOAD_TOKEN'))
api_config = API()
if '--box-hosts' not in sys.argv:
    api_config.BASE_API_URL = api_config.UPLOAD_URL = env('UPLOAD_BASE_URL').rstrip('/')
client = Client(oauth, session=AuthorizedSession(oauth, api_config=api_config))

path = env('UPLOAD_FILE')
uploaded = client.folder(env('UPLOAD_FOLDER_ID')).get_chunked_uploader(path, env('UPLOAD_FILE_NAME')).start()
report_committed(getattr(uploaded, 'id', None), getattr(uploaded, 'size', None), os.path.getsize(path))
