/**
 * A bad stack config value. A pulumi.RunError, so the engine prints the message alone: it is
 * complete on its own (key, what was expected, the fix), and a stack trace would only hide it.
 */
import * as pulumi from "@pulumi/pulumi";

export class ConfigError extends pulumi.RunError {}
