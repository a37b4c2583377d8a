import { toBinary, type DescFile, type DescService } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl } from "@connectrpc/connect";
import { ServerReflection as ServerReflectionV1 } from "@polywire/proto/grpc/reflection/v1/reflection";
import { ServerReflection as ServerReflectionV1Alpha } from "@polywire/proto/grpc/reflection/v1alpha/reflection";
import { quote } from "../quote.js";

/** The request fields v1 and v1alpha share (the two protos differ only in their package). */
type ReflectionRequest = {
  readonly host: string;
  readonly messageRequest:
    | { readonly case: "fileByFilename" | "fileContainingSymbol" | "allExtensionNumbersOfType" | "listServices"; readonly value: string }
    | { readonly case: "fileContainingExtension"; readonly value: { readonly containingType: string; readonly extensionNumber: number } }
    | { readonly case: undefined; readonly value?: undefined };
};

type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: Array<{ name: string }> } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** Every file the services are declared in and everything they import, with each name a reflection client may ask for. */
class DescriptorIndex {
  readonly services: readonly string[];
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  readonly #extensions = new Map<string, Map<number, DescFile>>();
  readonly #encoded = new Map<DescFile, Uint8Array>();

  constructor(services: readonly DescService[]) {
    this.services = services.map((s) => s.typeName).sort();
    for (const service of services) this.#add(service.file);
  }

  #add(file: DescFile): void {
    if (this.#files.has(file.proto.name)) return;
    this.#files.set(file.proto.name, file);
    for (const dependency of file.dependencies) this.#add(dependency);
    for (const type of nestedTypes(file)) {
      this.#symbols.set(type.typeName, file);
      if (type.kind === "service") {
        for (const method of type.methods) this.#symbols.set(`${type.typeName}.${method.name}`, file);
      } else if (type.kind === "message") {
        for (const field of type.fields) this.#symbols.set(`${type.typeName}.${field.name}`, file);
        for (const oneof of type.oneofs) this.#symbols.set(`${type.typeName}.${oneof.name}`, file);
      } else if (type.kind === "enum") {
        // Enum values are scoped beside their enum, as in C++ (descriptor.proto).
        const scope = type.typeName.slice(0, type.typeName.length - type.name.length);
        for (const value of type.values) this.#symbols.set(`${scope}${value.name}`, file);
      } else {
        const numbers = this.#extensions.get(type.extendee.typeName) ?? new Map<number, DescFile>();
        numbers.set(type.number, file);
        this.#extensions.set(type.extendee.typeName, numbers);
      }
    }
  }

  fileNamed(name: string): DescFile | undefined {
    return this.#files.get(name);
  }

  fileDeclaring(symbol: string): DescFile | undefined {
    return this.#symbols.get(symbol);
  }

  fileExtending(typeName: string, number: number): DescFile | undefined {
    return this.#extensions.get(typeName)?.get(number);
  }

  extensionNumbers(typeName: string): number[] {
    return [...(this.#extensions.get(typeName)?.keys() ?? [])].sort((a, b) => a - b);
  }

  isMessage(typeName: string): boolean {
    const file = this.#symbols.get(typeName);
    return file !== undefined && [...nestedTypes(file)].some((t) => t.kind === "message" && t.typeName === typeName);
  }

  /**
   * `file` and, of its transitive imports, those not yet sent on this
   * stream (`sent`), as serialized FileDescriptorProtos: the requested file
   * first, as the reflection protocol has it.
   */
  withDependencies(file: DescFile, sent: Set<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    const queue = [file];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      if (out.length > 0 && sent.has(next.proto.name)) continue;
      sent.add(next.proto.name);
      out.push(this.#encode(next));
      queue.push(...next.dependencies.filter((d) => !sent.has(d.proto.name)));
    }
    return out;
  }

  #encode(file: DescFile): Uint8Array {
    let bytes = this.#encoded.get(file);
    if (bytes === undefined) {
      bytes = toBinary(FileDescriptorProtoSchema, file.proto);
      this.#encoded.set(file, bytes);
    }
    return bytes;
  }
}

function notFound(what: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } };
}

function files(index: DescriptorIndex, file: DescFile | undefined, what: string, sent: Set<string>): ReflectionAnswer {
  return file === undefined ? notFound(what) : { case: "fileDescriptorResponse", value: { fileDescriptorProto: index.withDependencies(file, sent) } };
}

function answer(index: DescriptorIndex, request: ReflectionRequest, sent: Set<string>): ReflectionAnswer {
  const message = request.messageRequest;
  switch (message.case) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: index.services.map((name) => ({ name })) } };
    case "fileByFilename":
      return files(index, index.fileNamed(message.value), `file ${quote(message.value)}`, sent);
    case "fileContainingSymbol":
      return files(index, index.fileDeclaring(message.value), `symbol ${quote(message.value)}`, sent);
    case "fileContainingExtension": {
      const { containingType, extensionNumber } = message.value;
      return files(index, index.fileExtending(containingType, extensionNumber), `extension ${extensionNumber} of ${quote(containingType)}`, sent);
    }
    case "allExtensionNumbersOfType":
      return index.isMessage(message.value)
        ? { case: "allExtensionNumbersResponse", value: { baseTypeName: message.value, extensionNumber: index.extensionNumbers(message.value) } }
        : notFound(`message type ${quote(message.value)}`);
    default:
      return { case: "errorResponse", value: { errorCode: Code.Unimplemented, errorMessage: "the request names no known reflection query" } };
  }
}

/**
 * gRPC server reflection, v1 and the v1alpha that older tools still ask
 * for (PW-ADMIN-056): lists the services the admin listener serves and
 * gives the descriptors of the files declaring them and whatever those
 * import, so that grpcurl, Postman and other tools call the admin plane
 * without the protos. Descriptors come from the generated code, so they
 * are exactly what the broker serves.
 */
export function reflectionServices(served: readonly DescService[]): [ServiceImpl<typeof ServerReflectionV1>, ServiceImpl<typeof ServerReflectionV1Alpha>] {
  const index = new DescriptorIndex([...served, ServerReflectionV1, ServerReflectionV1Alpha]);
  const stream = async function* <R extends ReflectionRequest>(requests: AsyncIterable<R>) {
    // Files sent on this stream: a client keeps them, so later answers leave them out (the requested file excepted).
    const sent = new Set<string>();
    for await (const request of requests) yield { validHost: request.host, originalRequest: request, messageResponse: answer(index, request, sent) };
  };
  return [{ serverReflectionInfo: stream }, { serverReflectionInfo: stream }];
}
