using Hawser.Controller.Rollouts;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;

namespace Hawser.Controller.Api;

/// <summary>The rollout methods of <c>hawser.v1.ControlService</c>: start, get, list, control. Any operator reads them (one scoped by a selector sees its own nodes in them); starting and steering need the operator role.</summary>
public sealed class RolloutsApi(ControllerStore store, RolloutEngine engine)
{
    internal async Task<Rollout> StartAsync(StartRolloutRequest request, ServerCallContext context)
    {
        return await Refusing(() => engine.StartAsync(request.Revision, RolloutWire.Settings(request.Options ?? new RolloutOptions()), CallerIdentity.Of(context).Name, context.CancellationToken));
    }

    internal async Task<Rollout> GetAsync(GetRolloutRequest request, ServerCallContext context)
    {
        var rollout = request.Id == 0 ? (await store.Rollouts.ListAsync(1, context.CancellationToken) is [var newest] ? newest : null)
            : await store.Rollouts.GetAsync(request.Id, context.CancellationToken);
        return rollout is not null ? RolloutWire.Message(Visible(rollout, await OperatorScope.VisibleNodesAsync(store, context)))
            : throw ApiError.Of(StatusCode.NotFound, request.Id == 0 ? "no rollout has been started" : $"rollout {request.Id} does not exist");
    }

    internal async Task<ListRolloutsResponse> ListAsync(ListRolloutsRequest request, ServerCallContext context)
    {
        var response = new ListRolloutsResponse();
        var sees = await OperatorScope.VisibleNodesAsync(store, context);
        response.Rollouts.Add((await store.Rollouts.ListAsync(cancellationToken: context.CancellationToken)).Select(r => RolloutWire.Message(Visible(r, sees))));
        return response;
    }

    /// <summary>A rollout with only the nodes a scoped caller sees (all for others).</summary>
    private static RolloutRecord Visible(RolloutRecord rollout, Func<string, bool>? sees) =>
        sees is null ? rollout : rollout with { Nodes = [.. rollout.Nodes.Where(n => sees(n.Node))] };

    internal async Task<Rollout> ControlAsync(ControlRolloutRequest request, ServerCallContext context)
    {
        return await Refusing(() => engine.ControlAsync(request.Id, request.Action, CallerIdentity.Of(context).Name, context.CancellationToken));
    }

    private static async Task<Rollout> Refusing(Func<Task<RolloutRecord>> action)
    {
        try
        {
            return RolloutWire.Message(await action());
        }
        catch (RolloutException ex)
        {
            throw ApiError.Of(StatusCode.FailedPrecondition, ex.Message);
        }
    }
}
