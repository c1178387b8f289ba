using Hawser.Controller.Rollouts;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;

namespace Hawser.Controller.Api;

/// <summary>The rollout methods of <c>hawser.v1.ControlService</c>: start, get, list, control. Admin only.</summary>
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
        return rollout is not null ? RolloutWire.Message(rollout)
            : throw ApiError.Of(StatusCode.NotFound, request.Id == 0 ? "no rollout has been started" : $"rollout {request.Id} does not exist");
    }

    internal async Task<ListRolloutsResponse> ListAsync(ListRolloutsRequest request, ServerCallContext context)
    {
        var response = new ListRolloutsResponse();
        response.Rollouts.Add((await store.Rollouts.ListAsync(cancellationToken: context.CancellationToken)).Select(RolloutWire.Message));
        return response;
    }

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
