"""Shared by the Python SDK adapters: the SDK's own code, taken unmodified from Box's repository
(box/box-python-sdk, archived in box-python-sdk.tgz beside the project, never in it), extracted for this
run into the kit's work directory (removed with it) and put first on the import path; and what the
adapters report. Their dependencies come from Debian: python3-requests, python3-requests-toolbelt,
python3-dateutil, and python3-attr for boxsdk."""
import atexit
import os
import shutil
import sys
import tarfile
import tempfile

KIT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARCHIVE = os.environ.get('BOX_PYTHON_SDK_ARCHIVE') or os.path.join(KIT_ROOT, '..', 'shared', 'sdks', 'box-python-sdk.tgz')


def env(name):
    value = os.environ.get(name)
    if value is None:
        sys.exit(f'{name} is not set')
    return value


def load_sdk(folder):
    """Extracts `folder` of the archive (v10.13.0: box_sdk_gen, v3.14.0: boxsdk) and imports from it."""
    if not os.path.isfile(ARCHIVE):
        sys.exit(f'the SDK archive {ARCHIVE} is missing: set BOX_PYTHON_SDK_ARCHIVE to box-python-sdk.tgz')
    work = tempfile.mkdtemp(prefix='box-python-sdk-', dir=os.environ.get('KIT_WORK_DIR'))
    if 'KIT_WORK_DIR' not in os.environ:  # run by hand: nobody else removes it
        atexit.register(shutil.rmtree, work, True)
    with tarfile.open(ARCHIVE) as archive:
        archive.extractall(work, members=[member for member in archive.getmembers() if member.name.startswith(f'{folder}/')])
    sys.path.insert(0, os.path.join(work, folder))


def report_committed(file_id, size, expected):
    """Exit 0 only when the SDK returned the committed file, of the source's size."""
    if file_id is None or size != expected:
        sys.exit(f'the SDK returned no committed file of {expected} bytes (file id {file_id}, size {size})')
    print(f'committed file {file_id} ({size} bytes)')
