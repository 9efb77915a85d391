import pytest

# The shared read-back helpers assert too: rewritten like a test module's, a failure shows its values.
pytest.register_assert_rewrite("tests.services.labels.readback")
