/**
 * The typed stack config: one zod schema per key of the `flash-netpol:*` namespace, and the types
 * every consumer reads. Defaults encode the platform as it runs today, so a stack file only states
 * what differs. Reading and reporting bad values is configValidation.ts.
 */
import * as ipaddr from "ipaddr.js";
import { z } from "zod";
import {
  INSTANCE_METADATA_CIDR,
  IPV6_LOCAL_CIDRS,
  NON_UNICAST_CIDRS,
  isSubnetSized,
  isValidCidr,
  overlapsAnyOf,
} from "./cidrs";
import { flowEntriesSchema, serviceNameSchema, type DataStoreName, type DeclaredFlow } from "./flowTable";
import { DIRECTIONS } from "./kubernetes";

export const CONFIG_NAMESPACE = "flash-netpol";

export const dns1123Label = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    "a DNS-1123 label: lowercase letters, digits and '-', at most 63 characters",
  );

const port = z
  .number({ error: "a port number (an integer from 1 to 65535)" })
  .int("a port number (an integer from 1 to 65535)")
  .min(1, "a port number (an integer from 1 to 65535)")
  .max(65535, "a port number (an integer from 1 to 65535)");

// Kubernetes label rules: an optional DNS-subdomain prefix, a name of at most 63 characters.
const labelKey = z
  .string()
  .regex(
    /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/,
    "a Kubernetes label key such as 'app' or 'app.kubernetes.io/name'",
  );
const labelValue = z
  .string()
  .regex(
    /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/,
    "a Kubernetes label value: at most 63 letters, digits, '-', '_' or '.'",
  );
const podLabels = z
  .record(labelKey, labelValue)
  .refine(
    (labels) => Object.keys(labels).length > 0,
    "at least one label (an empty selector would match every pod)",
  );

export const cidr = z.string().refine(isValidCidr, "a CIDR block such as 10.0.0.0/16 or 0.0.0.0/0");
const ipv4Address = z
  .string()
  .refine((value) => ipaddr.IPv4.isValidFourPartDecimal(value), "an IPv4 address");

/** A CIDR that must also pass `problemOf` (undefined: fine); the problem is the whole "expected" text. */
function cidrWhere(problemOf: (value: string) => string | undefined) {
  return cidr.superRefine((value, context) => {
    if (!isValidCidr(value)) return;
    const problem = problemOf(value);
    if (problem !== undefined) context.addIssue({ code: "custom", message: problem, input: value });
  });
}

/**
 * An ALB subnet: the ALB sits in subnets of the VPC, so a range the size AWS gives a subnet, in
 * unicast space. 0.0.0.0/0 here made every address "the ALB" and left no room for a pod.
 */
const albSubnetCidr = cidrWhere((value) => {
  const fix =
    "Fix: list the ALB's subnet CIDRs (aws ec2 describe-subnets), or leave alb.cidrs out to discover them";
  if (!isSubnetSized(value))
    return (
      `the CIDR of one of the ALB's subnets, IPv4 /16 to /28 or IPv6 /44 to /64 (the sizes AWS gives a subnet); ${value} is no subnet` +
      (value.endsWith("/0") ? " but the whole internet, and would let any address in as the ALB" : "") +
      `. ${fix}`
    );
  const special = overlapsAnyOf(value, [INSTANCE_METADATA_CIDR, ...NON_UNICAST_CIDRS, ...IPV6_LOCAL_CIDRS]);
  if (special !== undefined)
    return `a subnet in the VPC's unicast space; ${value} overlaps ${special} (link-local, loopback or multicast: 169.254.0.0/16 is the instance metadata service). ${fix}`;
  return undefined;
});

/** Link-local addresses of AWS agents that hand out credentials: never a DNS cache. */
const CREDENTIAL_ENDPOINTS: Readonly<Record<string, string>> = {
  "169.254.169.254": "the EC2 instance metadata service (node IAM credentials)",
  "169.254.170.23": "the EKS Pod Identity agent (pod IAM credentials)",
};

/**
 * The NodeLocal DNSCache address: a link-local address on every node (169.254.20.10 by default). The
 * DNS egress rule allows port 53 to it from every pod, so it must not name a credential endpoint.
 */
const nodeLocalAddress = ipv4Address.superRefine((value, context) => {
  if (!ipaddr.IPv4.isValidFourPartDecimal(value)) return;
  const agent = CREDENTIAL_ENDPOINTS[value];
  const problem =
    agent !== undefined
      ? `the NodeLocal DNSCache's link-local address (such as 169.254.20.10); ${value} is ${agent}, and every pod would be allowed to reach it`
      : !ipaddr.IPv4.parse(value).match(ipaddr.IPv4.parseCIDR(INSTANCE_METADATA_CIDR))
        ? `the NodeLocal DNSCache's link-local address, inside 169.254.0.0/16 (such as 169.254.20.10); ${value} is outside it`
        : undefined;
  if (problem !== undefined)
    context.addIssue({
      code: "custom",
      input: value,
      message: `${problem}. Fix: set dns.nodeLocalAddress to the address node-local-dns listens on (its -localip flag), or leave it out if the cluster does not run it`,
    });
});

// Pulumi passes every scalar config value as text: "true"/"false" for YAML booleans.
const booleanFlag = z
  .union([z.boolean(), z.enum(["true", "false"])], { error: "true or false" })
  .transform((value) => value === true || value === "true")
  .default(false);

const rolloutFlag = z.enum(["off", "enforce"], { error: "'off' or 'enforce'" });
const serviceRollout = z.strictObject({ ingress: rolloutFlag, egress: rolloutFlag });

/**
 * One service: its pods (default `app: <name>`) and the port its clients and the ALB reach it on.
 * A worker that serves nobody still states a port: its health endpoint, which the kubelet probes
 * (kubelet probes bypass NetworkPolicy).
 */
const serviceConfig = z.strictObject({
  podLabels: podLabels.optional(),
  port,
});

const servicesConfig = z
  .record(serviceNameSchema, serviceConfig, { error: "a map of service name to {podLabels, port}" })
  .refine((services) => Object.keys(services).length > 0, "at least one service")
  .transform((services) =>
    Object.fromEntries(
      Object.entries(services).map(([name, service]) => [
        name,
        { podLabels: service.podLabels ?? { app: name }, port: service.port },
      ]),
    ),
  );

const awsIdentifier = (what: string) =>
  z
    .string()
    .min(1, `the ${what}`)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, `the ${what} (letters, digits, '-', '_', '.')`);

export const DATA_STORE_DEFAULT_PORTS: Record<DataStoreName, number> = {
  redis: 6379,
  postgres: 15432,
  mq: 5671,
};
/** ElastiCache Serverless serves reads on a second port of the same ENIs (AWS default 6380). */
export const SERVERLESS_READER_DEFAULT_PORT = 6380;
/** RDS Proxy listens on its engine family's default port, whatever port the database behind it uses. */
export const RDS_PROXY_PORTS: Readonly<Record<string, number>> = { POSTGRESQL: 5432 };

const iamRoleArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
    "an IAM role ARN such as arn:aws:iam::123456789012:role/flash-netpol-read",
  );
const awsRegion = z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region such as ap-northeast-2");

/**
 * What every data store may add: where it lives when not beside the cluster (an Aurora Global
 * secondary, a shared-services account) and whether its subnets may be shared with the cluster.
 */
const storePlacement = {
  /** Defaults to cluster.region. */
  region: awsRegion.optional(),
  /** Read the store through a provider that assumes this role (another account). */
  roleArn: iamRoleArn.optional(),
  /** Accept a store whose subnets are, or overlap, subnets of the cluster or the ALB (then a warning). */
  allowSharedSubnets: z.boolean({ error: "true or false" }).default(false),
};

const exactlyOne = (keys: readonly string[]) => (value: Record<string, unknown>) =>
  keys.filter((key) => value[key] !== undefined).length === 1;

const dataStoresConfig = z.strictObject({
  redis: z
    .strictObject({
      replicationGroupId: awsIdentifier("ElastiCache replication group id").optional(),
      serverlessCacheName: awsIdentifier("ElastiCache Serverless cache name").optional(),
      port: port.default(DATA_STORE_DEFAULT_PORTS.redis),
      /** The serverless cache's reader endpoint port; only with serverlessCacheName. */
      readerPort: port.optional(),
      ...storePlacement,
    })
    .refine(
      exactlyOne(["replicationGroupId", "serverlessCacheName"]),
      "exactly one of replicationGroupId or serverlessCacheName (ElastiCache Serverless)",
    )
    .refine(
      (value) => value.readerPort === undefined || value.serverlessCacheName !== undefined,
      "readerPort only with serverlessCacheName (a replication group's readers use its one port)",
    )
    .transform((value) => ({
      ...value,
      readerPort:
        value.serverlessCacheName !== undefined
          ? (value.readerPort ?? SERVERLESS_READER_DEFAULT_PORT)
          : undefined,
    })),
  postgres: z
    .strictObject({
      dbInstanceIdentifier: awsIdentifier("RDS DB instance identifier").optional(),
      dbClusterIdentifier: awsIdentifier("RDS DB cluster identifier").optional(),
      dbProxyName: awsIdentifier("RDS Proxy name").optional(),
      /** Defaults to 15432, or with dbProxyName to the proxy's port (5432 for PostgreSQL). */
      port: port.optional(),
      ...storePlacement,
    })
    .refine(
      exactlyOne(["dbInstanceIdentifier", "dbClusterIdentifier", "dbProxyName"]),
      "exactly one of dbInstanceIdentifier (RDS instance), dbClusterIdentifier (Aurora cluster) or dbProxyName (RDS Proxy)",
    )
    .transform((value) => ({
      ...value,
      port:
        value.port ??
        (value.dbProxyName !== undefined ? RDS_PROXY_PORTS.POSTGRESQL! : DATA_STORE_DEFAULT_PORTS.postgres),
    })),
  mq: z
    .strictObject({
      brokerName: awsIdentifier("Amazon MQ broker name").optional(),
      brokerId: awsIdentifier("Amazon MQ broker id").optional(),
      port: port.default(DATA_STORE_DEFAULT_PORTS.mq),
      ...storePlacement,
    })
    .refine(exactlyOne(["brokerName", "brokerId"]), "exactly one of brokerName or brokerId"),
});

const albConfig = z
  .strictObject({
    // ip: the ALB sends from its own ENIs in its subnets.
    // instance: it sends to a NodePort, and kube-proxy forwards from the node, so the source is the node subnets.
    targetType: z.enum(["ip", "instance"], { error: "'ip' or 'instance'" }).default("ip"),
    cidrs: z
      .array(albSubnetCidr)
      .min(1, "at least one CIDR, or leave cidrs out to discover the subnets")
      .optional(),
    /** The ALB's own name: its subnets are read from the load balancer itself. */
    loadBalancerName: z
      .string()
      .regex(
        /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?$/,
        "a load balancer name (1-32 letters, digits, '-')",
      )
      .optional(),
    /**
     * The AWS Load Balancer Controller's stack: an IngressGroup name, or namespace/ingress for an
     * Ingress in no group. The ALB is found by its tags elbv2.k8s.aws/cluster and ingress.k8s.aws/stack.
     */
    ingressGroup: z
      .string()
      .regex(
        /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?)?$/,
        "an IngressGroup name, or namespace/ingress-name",
      )
      .optional(),
    /** Which subnet role tag the fallback discovery reads, as the controller does for this scheme. */
    scheme: z
      .enum(["internet-facing", "internal"], { error: "'internet-facing' or 'internal'" })
      .default("internet-facing"),
  })
  .refine(
    (value) =>
      [value.cidrs, value.loadBalancerName, value.ingressGroup].filter((given) => given !== undefined)
        .length <= 1,
    "at most one of cidrs, loadBalancerName or ingressGroup",
  )
  .default({ targetType: "ip", scheme: "internet-facing" });

const dnsConfig = z
  .strictObject({
    nodeLocalAddress: nodeLocalAddress.optional(),
  })
  .default({});

const paymentApiConfig = z
  .strictObject({
    cidrs: z.array(cidr).min(1, "at least one CIDR").default(["0.0.0.0/0"]),
    ports: z.array(port).min(1, "at least one port").default([443]),
  })
  .default({ cidrs: ["0.0.0.0/0"], ports: [443] });

// Every service states both flags: a new service must not start enforced by accident in prod.
const rolloutConfig = z
  .strictObject({
    defaultDeny: rolloutFlag.default("enforce"),
    services: z.record(serviceNameSchema, serviceRollout).default({}),
  })
  .superRefine((rollout, context) => {
    // The default deny isolates every pod in both directions; a service policy still off would then
    // lose its declared flows. The stage order of docs/rollout.md enforces every service policy first.
    if (rollout.defaultDeny !== "enforce") return;
    for (const [service, flags] of Object.entries(rollout.services)) {
      for (const direction of DIRECTIONS) {
        if (flags[direction] === "off") {
          context.addIssue({
            code: "custom",
            path: ["services", service, direction],
            message: `'enforce' while defaultDeny is 'enforce' (the default deny would cut ${service}'s declared ${direction} flows); enforce it, or set defaultDeny to 'off' until every service policy is enforced`,
          });
        }
      }
    }
  })
  .default({ defaultDeny: "enforce", services: {} });

// registry[:port]/path[:tag]@sha256:<64 hex>: a digest, so every live verification runs the same nc and nslookup.
const PINNED_IMAGE =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(\/[a-z0-9]+([._-][a-z0-9]+)*)?(:[\w][\w.-]{0,127})?@sha256:[0-9a-f]{64}$/;

/** Keys under `flash-netpol:` and their schemas; each is read and validated on its own. */
export const CONFIG_SCHEMA = {
  namespace: dns1123Label.default("flash-ticket"),
  cluster: z.strictObject({
    name: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/, "an EKS cluster name"),
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, "an AWS region such as ap-northeast-2")
      .default("ap-northeast-2"),
    /** EKS custom networking: the subnets of the ENIConfigs pods take addresses from (not readable through AWS). */
    podSubnetIds: z
      .array(z.string().regex(/^subnet-[0-9a-f]+$/, "a subnet id such as subnet-0abc12"))
      .optional(),
  }),
  /** Any number of services: `{podLabels, port}` each. The project's default is in Pulumi.yaml. */
  services: servicesConfig,
  /**
   * The flow table: `{from, to, purpose}` entries naming services, redis, postgres, mq, alb, dns or
   * payment-api. Checked against the services in parseStackConfig. The default is in Pulumi.yaml.
   */
  flows: flowEntriesSchema,
  dataStores: dataStoresConfig,
  alb: albConfig,
  dns: dnsConfig,
  paymentApi: paymentApiConfig,
  rollout: rolloutConfig,
  /**
   * Opt-in: manage the vpc-cni EKS add-on (network policy on, policy event logs on). It adopts and
   * overwrites the add-on's configuration; without it the program only checks the add-on.
   */
  manageVpcCni: booleanFlag,
  /** The VPC CNI network policy agent's mode: strict isolates new pods until their policies are loaded. */
  networkPolicyEnforcingMode: z
    .enum(["standard", "strict"], { error: "'standard' or 'strict'" })
    .default("standard"),
  /** Emergency: one allow-all NetworkPolicy for the namespace, both directions; nothing else changes. */
  breakGlass: booleanFlag,
  /** Opt-in: read each service's Deployment and fail when its pod template does not match the selector or port. */
  verifySelectors: booleanFlag,
  /** The Deployment behind each service, for verifySelectors; defaults to the service name. */
  deployments: z.record(serviceNameSchema, dns1123Label).default({}),
  /**
   * The image `npm run verify` probes with (busybox: nc and nslookup), pinned by digest; usually a
   * mirror in the account's ECR, which private clusters can pull without Docker Hub's rate limits.
   * Unset: the digest-pinned Docker Hub busybox in verify/kubectl.ts.
   */
  probeImage: z
    .string({ error: "an image reference pinned by digest" })
    .regex(
      PINNED_IMAGE,
      "an image pinned by digest, e.g. 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/busybox:1.36.1@sha256:<64 hex digits> (docs/verify.md shows how to mirror it)",
    )
    .optional(),
  /** How long one AWS read may take before the preview fails instead of hanging. */
  lookupTimeoutSeconds: z.coerce
    .number({ error: "a number of seconds from 1 to 600" })
    .int("a whole number of seconds from 1 to 600")
    .min(1, "a number of seconds from 1 to 600")
    .max(600, "a number of seconds from 1 to 600")
    .default(60),
} as const;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;
export type ParsedKeys = { [K in ConfigKey]: z.output<(typeof CONFIG_SCHEMA)[K]> };
export type StackConfig = Omit<ParsedKeys, "flows"> & {
  /** The flow table, checked against the services: every endpoint resolved. */
  readonly flows: readonly DeclaredFlow[];
  /** An explicit kubeconfig (a secret); without it the provider is built from the EKS cluster. */
  readonly kubeconfig?: string;
};
export type RolloutFlag = z.output<typeof rolloutFlag>;
export type RolloutConfig = StackConfig["rollout"];
