// flash-netpol: zero-trust NetworkPolicies for the flash-ticket namespace on EKS.
// Config in, one component, outputs out; everything else lives in components/.
import * as pulumi from "@pulumi/pulumi";
import { parseStackConfig } from "./components/configValidation";
import { FlashNetworkPolicies } from "./components/flashNetworkPolicies";

export = async () => {
  const config = parseStackConfig(pulumi.runtime.allConfig(), `Pulumi.${pulumi.getStack()}.yaml`);
  const netpol = await FlashNetworkPolicies.create("flash-ticket", { config });
  return {
    namespace: netpol.namespace,
    policyNames: netpol.policyNames,
    cidrs: netpol.cidrs,
    flowTable: netpol.flowTable,
  };
};
