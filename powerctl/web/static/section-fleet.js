// Fleet: ask for a credentials sync now.
import { act, call, onClick } from "./core.js";

onClick("fleet-sync", async (button) => {
  await act(button, ["fleet"], () => call("POST", "/restapi/auth/fleet/sync/", []), "Synced with the fleet server.");
});
