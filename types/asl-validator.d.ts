declare module 'asl-validator' {
  interface AslValidatorResult {
    isValid: boolean;
    errorsText: (separator?: string) => string;
  }
  export default function aslValidator(
    definition: unknown,
    options?: { checkArn?: boolean; checkPaths?: boolean },
  ): AslValidatorResult;
}
