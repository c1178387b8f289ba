using Google.Protobuf.WellKnownTypes;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Rpc;
using Hawser.Shared.Rpc.Server;
using Hawser.Shared.Spec;

namespace Hawser.Controller.Api;

/// <summary>
/// <c>hawser.v1.ControlService</c>, the API hawserctl uses. ApplySpec and DiffSpec are not mapped
/// yet: callers get UNIMPLEMENTED until the spec model and agent sessions exist.
/// </summary>
public sealed class ControlApi(ControllerStore store)
{
    /// <summary>Revisions listed when the caller names no limit.</summary>
    public const int DefaultRevisionLimit = 20;

    /// <summary>Maps the implemented methods onto <paramref name="server"/>.</summary>
    public RpcServer MapTo(RpcServer server) => server
        .MapUnary(ControlServiceMethods.ListNodes, ListNodesAsync)
        .MapUnary(ControlServiceMethods.GetNode, GetNodeAsync)
        .MapUnary(ControlServiceMethods.ListRevisions, ListRevisionsAsync);

    private Task<ListNodesResponse> ListNodesAsync(ListNodesRequest request, ServerCallContext context)
    {
        var response = new ListNodesResponse();
        foreach (var node in store.ListNodes())
        {
            if (LabelSelector.Matches(request.Selector, node.Labels))
            {
                response.Nodes.Add(ToMessage(node));
            }
        }
        return Task.FromResult(response);
    }

    private Task<Node> GetNodeAsync(GetNodeRequest request, ServerCallContext context)
    {
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            throw new RpcException(StatusCode.InvalidArgument, "name is required");
        }
        var node = store.GetNode(request.Name) ?? throw new RpcException(StatusCode.NotFound, $"no node named '{request.Name}'");
        return Task.FromResult(ToMessage(node));
    }

    private Task<ListRevisionsResponse> ListRevisionsAsync(ListRevisionsRequest request, ServerCallContext context)
    {
        var response = new ListRevisionsResponse();
        foreach (var revision in store.ListRevisions(request.Limit == 0 ? DefaultRevisionLimit : (int)Math.Min(request.Limit, 10_000)))
        {
            response.Revisions.Add(new Revision
            {
                Number = revision.Number,
                Author = revision.Author,
                Message = revision.Message,
                CreatedAt = Timestamp.FromDateTimeOffset(revision.CreatedAt),
                SpecSha256 = revision.SpecSha256,
            });
        }
        return Task.FromResult(response);
    }

    private static Node ToMessage(NodeRecord record)
    {
        var node = new Node
        {
            Name = record.Name,
            AgentVersion = record.AgentVersion,
            // Agent sessions arrive with the fleet work; until then no node is connected.
            Connected = false,
            FirstSeen = Timestamp.FromDateTimeOffset(record.FirstSeen),
            LastSeen = Timestamp.FromDateTimeOffset(record.LastSeen),
            DesiredRevision = record.DesiredRevision,
            AppliedRevision = record.AppliedRevision,
        };
        foreach (var (key, value) in record.Labels)
        {
            node.Labels[key] = value;
        }
        if (record.Facts is not null)
        {
            node.Facts = HostFacts.Parser.ParseFrom(record.Facts);
        }
        if (record.LastReport is not null)
        {
            node.Resources.Add(StatusReport.Parser.ParseFrom(record.LastReport).Resources);
        }
        return node;
    }
}
