/** Root hooks for every test file: the policy packs tests started are shared, and stopped once at the end. */
import { closeSharedPolicyHarnesses } from "../../offline/sharedPolicyHarness";

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await closeSharedPolicyHarnesses();
  },
};
