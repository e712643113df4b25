"""Programs built on the client: the ``c2c`` command (:mod:`~c2c_helpers.tools.cli`) and many cameras at once
(:mod:`~c2c_helpers.tools.fleet`). They may import anything; nothing in the client imports them."""
