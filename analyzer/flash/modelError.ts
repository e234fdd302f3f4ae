/**
 * The stack's addresses leave the flash model no room (an IPv6-only VPC, subnets of the table
 * covering the whole VPC): a config or discovery problem, said in those words, never a crash.
 */
export class FlashModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlashModelError";
  }
}
