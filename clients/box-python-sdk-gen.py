#!/usr/bin/python3
"""Adapter: Box's generated Python SDK (box_sdk_gen 10.13) under the kit's command contract. BoxClient
with BoxDeveloperTokenAuth, its BaseUrls pointed at the kit's server (the SDK appends /2.0/... to an
upload_url ending in /api), then client.chunked_uploads.upload_big_file, the SDK's own chunked uploader.
With --box-hosts the base URLs are the SDK's defaults, Box's own hosts: graded with --intercept, the
SDK goes through the kit's proxy (HTTPS_PROXY) and trusts its CA (REQUESTS_CA_BUNDLE), as requests does."""
import os
import sys

from box_python_sdk import env, load_sdk, report_committed

load_sdk('v10.13.0')
from box_sdk_gen import BaseUrls, BoxClient, BoxDeveloperTokenAuth  # noqa: E402

client = BoxClient(auth=BoxDeveloperTokenAuth(token=env('UPLOAD_TOKEN')))
if '--box-hosts' not in sys.argv:
    api = env('UPLOAD_BASE_URL').rstrip('/').removesuffix('/2.0')  # …/api
    client = client.with_custom_base_urls(BaseUrls(base_url=api, upload_url=api, oauth_2_url=f'{api}/oauth2'))

path = env('UPLOAD_FILE')
size = os.path.getsize(path)
with open(path, 'rb') as stream:
    uploaded = client.chunked_uploads.upload_big_file(stream, env('UPLOAD_FILE_NAME'), size, env('UPLOAD_FOLDER_ID'))
report_committed(getattr(uploaded, 'id', None), getattr(uploaded, 'size', None), size)
