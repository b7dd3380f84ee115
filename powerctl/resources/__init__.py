"""The branches of the /restapi/ tree, each built from the service it exposes.

A new resource is one module here, building its branch from its service, and one line in
`powerctl.create_app` mounting it in the root Branch:

    # powerctl/resources/lamp.py
    def lamp_node(lamp: Lamp) -> Branch:
        return Branch(
            {
                "level": Value(Level(), read=..., write=..., policy=AccessPolicy(admin_write=True)),
                "bulbs": Collection(keys=..., item=Branch({"on": Value(Flag(), read=..., batch=...)})),
                "blink": Call(blink, policy=AccessPolicy(covered_by=...), batch=Batch(invoke=...)),
            }
        )

    # powerctl/__init__.py
    "lamp": lamp_node(lamp),

Each node declares what it needs beside its I/O, and is asked nothing else:
- `policy`, an access.AccessPolicy (OPEN unless given): `admin_only` (the subtree is for admins),
  `open_to_clients` (reopened inside an admin-only one), `admin_write` (only admins modify it),
  `covered_by` (other grants that authorise it too). The access gate and the tree's shape check
  read it; tests/api/test_resource_policy.py shows each at work.
- `batch`, a restapi.tree.Batch (ONE_BY_ONE unless given): `read`, `write` or `invoke` the same
  leaf of many members in one call, for a matrix request. The dispatcher reads it.
Its functions get the node's keys from the root; a resource takes what it needs from their end
(tree.member, tree.owner), so it does not depend on where it is mounted.
"""
