using Hawser.Shared.Rpc;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Shared.Protocol;

/// <summary>Method descriptors of <c>hawser.v1.ControlService</c>, taken from control.proto.</summary>
public static class ControlServiceMethods
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = ControlReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("ControlService");

    /// <summary>Lists nodes, optionally by label selector.</summary>
    public static readonly Method<ListNodesRequest, ListNodesResponse> ListNodes = Method.FromDescriptor<ListNodesRequest, ListNodesResponse>(Service, "ListNodes");

    /// <summary>One node in full.</summary>
    public static readonly Method<GetNodeRequest, Node> GetNode = Method.FromDescriptor<GetNodeRequest, Node>(Service, "GetNode");

    /// <summary>Validates, stores and pushes a spec.</summary>
    public static readonly Method<ApplySpecRequest, ApplySpecResponse> ApplySpec = Method.FromDescriptor<ApplySpecRequest, ApplySpecResponse>(Service, "ApplySpec");

    /// <summary>Dry-runs a candidate spec on every node.</summary>
    public static readonly Method<DiffSpecRequest, DiffSpecResponse> DiffSpec = Method.FromDescriptor<DiffSpecRequest, DiffSpecResponse>(Service, "DiffSpec");

    /// <summary>Lists stored spec revisions, newest first.</summary>
    public static readonly Method<ListRevisionsRequest, ListRevisionsResponse> ListRevisions = Method.FromDescriptor<ListRevisionsRequest, ListRevisionsResponse>(Service, "ListRevisions");
}

/// <summary>Method descriptors of <c>hawser.v1.AgentService</c>, taken from agent.proto.</summary>
public static class AgentServiceMethods
{
    private static readonly Google.Protobuf.Reflection.ServiceDescriptor Service = AgentReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.ServiceDescriptor>("AgentService");

    /// <summary>The agent's long-lived stream.</summary>
    public static readonly Method<AgentMessage, ControllerMessage> Connect = Method.FromDescriptor<AgentMessage, ControllerMessage>(Service, "Connect");
}
