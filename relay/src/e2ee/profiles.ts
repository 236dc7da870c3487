// The two handshake profiles, their Noise protocol names and strength order.

/** PROFILES lists the profile strings exactly as they appear on the wire. */
export const PROFILES = ['noise-ik', 'noise-ikpsk2'] as const;

/** Profile is a wire profile string. */
export type Profile = (typeof PROFILES)[number];

const PROTOCOL_NAMES: Record<Profile, string> = {
  'noise-ik': 'Noise_IK_P256_AESGCM_SHA256',
  'noise-ikpsk2': 'Noise_IKpsk2_P256_AESGCM_SHA256',
};

const STRENGTH: Record<Profile, number> = { 'noise-ik': 1, 'noise-ikpsk2': 2 };

/** isProfile narrows an unknown value to a Profile. */
export function isProfile(value: unknown): value is Profile {
  return value === 'noise-ik' || value === 'noise-ikpsk2';
}

/** protocolName is the Noise protocol name that seeds the handshake hash. */
export function protocolName(profile: Profile): string {
  return PROTOCOL_NAMES[profile];
}

/** usesPsk is true for the profile that mixes the pairing secret in message 2. */
export function usesPsk(profile: Profile): boolean {
  return profile === 'noise-ikpsk2';
}

/** satisfiesProfile is true when `requested` is at least as strong as `required`. */
export function satisfiesProfile(requested: Profile, required: Profile): boolean {
  return STRENGTH[requested] >= STRENGTH[required];
}
