using Grpc.Core;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Shared.Protocol;

/// <summary>Reading a whole fleet through the paged ListNodes (hawserctl, tests and benchmarks share it).</summary>
public static class NodeListing
{
    /// <summary>Every node <paramref name="request"/> selects (all when null), page by page: each page is one call.</summary>
    public static async Task<List<Node>> ListAllNodesAsync(this ControlService.ControlServiceClient client, ListNodesRequest? request = null, CallOptions options = default)
    {
        var nodes = new List<Node>();
        var page = request?.Clone() ?? new ListNodesRequest();
        do
        {
            var response = await client.ListNodesAsync(page, options).ConfigureAwait(false);
            nodes.AddRange(response.Nodes);
            page.PageToken = response.NextPageToken;
        }
        while (page.PageToken.Length > 0);
        return nodes;
    }
}
