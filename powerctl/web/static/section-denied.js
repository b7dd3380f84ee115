// Denied clients: lift a denial.
import { act, call, onClick, segment } from "./core.js";

onClick("lift", async (button) => {
  const id = button.dataset.client;
  await act(button, ["denied", "clients"], () => call("DELETE", `/restapi/auth/denied/${segment(id)}/`),
    `Denial of ${id} lifted.`);
});
