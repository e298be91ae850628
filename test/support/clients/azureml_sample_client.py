# The Azure ML deploy guide's sample client, unchanged but for the URI taken from argv.
import json
import sys

import requests

scoring_uri = sys.argv[1]

test_sample = json.dumps({'data': [
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
]})
test_sample = bytes(test_sample, encoding='utf8')

headers = {'Content-Type': 'application/json'}

response = requests.post(scoring_uri, data=test_sample, headers=headers)
print(response.status_code)
print(response.text)
