using Grpc.Core;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Shared.Protocol;

/// <summary>Reading a whole fleet through the paged ListNodes (hawserctl, tests and benchmarks share it).</summary>
public static class NodeListing
{
    /// <summary>Every node <paramref name="request"/> selects (all when null), page by page: each page is one call.</summary>
    public static async Task<List<Node>> ListAllNodesAsync(this ControlService.ControlServiceClient client, ListNodesRequest? request = null, CallOptions options = default) =>
        (await client.ListFleetAsync(request, options).ConfigureAwait(false)).Nodes;

    /// <summary>As <see cref="ListAllNodesAsync"/>, with the nodes the newest revision names that are not enrolled (the last page's).</summary>
    public static async Task<(List<Node> Nodes, List<UnenrolledNode> Unenrolled)> ListFleetAsync(this ControlService.ControlServiceClient client, ListNodesRequest? request = null,
        CallOptions options = default)
    {
        var nodes = new List<Node>();
        var page = request?.Clone() ?? new ListNodesRequest();
        ListNodesResponse response;
        do
        {
            response = await client.ListNodesAsync(page, options).ConfigureAwait(false);
            nodes.AddRange(response.Nodes);
            page.PageToken = response.NextPageToken;
        }
        while (page.PageToken.Length > 0);
        return (nodes, [.. response.Unenrolled]);
    }
}
