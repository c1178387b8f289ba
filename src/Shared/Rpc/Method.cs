using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Hawser.Shared.Rpc;

/// <summary>How many messages flow each way.</summary>
public enum MethodType
{
    /// <summary>One request, one response.</summary>
    Unary,
    /// <summary>One request, a stream of responses.</summary>
    ServerStreaming,
    /// <summary>A stream of requests, one response.</summary>
    ClientStreaming,
    /// <summary>Streams both ways.</summary>
    DuplexStreaming,
}

/// <summary>Describes one RPC method: its path, its kind and its protobuf message types.</summary>
public sealed class Method<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    /// <summary>Creates a method descriptor.</summary>
    public Method(string serviceName, string name, MethodType type)
    {
        ServiceName = serviceName;
        Name = name;
        Type = type;
        Path = $"/{serviceName}/{name}";
    }

    /// <summary>Fully qualified service name, e.g. <c>hawser.v1.ControlService</c>.</summary>
    public string ServiceName { get; }

    /// <summary>Method name, e.g. <c>ListNodes</c>.</summary>
    public string Name { get; }

    /// <summary>The method's kind.</summary>
    public MethodType Type { get; }

    /// <summary>The HTTP/2 :path, <c>/Service/Method</c>.</summary>
    public string Path { get; }

    /// <summary>Parser for request messages.</summary>
    public MessageParser<TRequest> RequestParser { get; } = new(() => new TRequest());

    /// <summary>Parser for response messages.</summary>
    public MessageParser<TResponse> ResponseParser { get; } = new(() => new TResponse());
}

/// <summary>Builds method descriptors from generated protobuf service descriptions.</summary>
public static class Method
{
    /// <summary>
    /// Builds a descriptor from the generated protobuf service description, so names and streaming
    /// kinds cannot drift from the .proto file; throws when the message types do not match it.
    /// </summary>
    public static Method<TRequest, TResponse> FromDescriptor<TRequest, TResponse>(ServiceDescriptor service, string name)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var method = service.FindMethodByName(name)
            ?? throw new ArgumentException($"service {service.FullName} has no method {name}", nameof(name));
        if (method.InputType.ClrType != typeof(TRequest) || method.OutputType.ClrType != typeof(TResponse))
        {
            throw new ArgumentException(
                $"{service.FullName}/{name} takes {method.InputType.FullName} and returns {method.OutputType.FullName}, " +
                $"not {typeof(TRequest).Name} and {typeof(TResponse).Name}");
        }
        var type = (method.IsClientStreaming, method.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            (true, true) => MethodType.DuplexStreaming,
        };
        return new Method<TRequest, TResponse>(service.FullName, name, type);
    }
}
