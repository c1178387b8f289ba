using Hawser.Agent.HostServices;
using Hawser.Shared.HostAccess;

namespace Hawser.Agent.Reconcile;

/// <summary>
/// Runs resources in dependency order: plan, apply unless dry-run, plan again to verify. A failure
/// stops only the resources that depend on it; everything else still converges.
/// </summary>
public static class Reconciler
{
    /// <summary>Converges <paramref name="resources"/>; <paramref name="progress"/> hears each report as it is made.</summary>
    public static async Task<ConvergeReport> ConvergeAsync(IReadOnlyList<IResource> resources, ResourceContext context, bool dryRun,
        CancellationToken cancellationToken, Action<ResourceReport>? progress = null)
    {
        var reports = new List<ResourceReport>();
        var failed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var resource in Order(resources))
        {
            var blocker = resource.DependsOn.FirstOrDefault(failed.Contains);
            ResourceReport report;
            if (blocker is not null)
            {
                report = new ResourceReport(resource.Id, ResourceOutcome.Skipped, [], [], $"skipped: {blocker} did not converge");
            }
            else
            {
                report = await ConvergeOneAsync(resource, context, dryRun, cancellationToken);
            }
            if (report.Outcome is ResourceOutcome.Failed or ResourceOutcome.Skipped)
            {
                failed.Add(resource.Id);
                context.Failed.Add(resource.Id);
            }
            reports.Add(report);
            progress?.Invoke(report);
        }
        return new ConvergeReport(reports, dryRun);
    }

    private static async Task<ResourceReport> ConvergeOneAsync(IResource resource, ResourceContext context, bool dryRun, CancellationToken cancellationToken)
    {
        ResourcePlan plan;
        try
        {
            plan = await resource.PlanAsync(context, cancellationToken);
        }
        catch (Exception ex) when (IsHostError(ex))
        {
            return new ResourceReport(resource.Id, ResourceOutcome.Failed, [], [], ex.Message);
        }
        if (plan.InSync)
        {
            return new ResourceReport(resource.Id, ResourceOutcome.InSync, [], plan.Warnings, null);
        }
        if (dryRun)
        {
            return new ResourceReport(resource.Id, ResourceOutcome.WouldChange, plan.Changes, plan.Warnings, null);
        }
        try
        {
            await resource.ApplyAsync(plan, context, cancellationToken);
            var after = await resource.PlanAsync(context, cancellationToken);
            if (!after.InSync)
            {
                var left = string.Join("; ", after.Changes.Select(c => $"{c.Target} is {c.From ?? "absent"}, wanted {c.To ?? "absent"}"));
                return new ResourceReport(resource.Id, ResourceOutcome.Failed, plan.Changes, after.Warnings, $"applied, but the host still differs: {left}");
            }
            return new ResourceReport(resource.Id, ResourceOutcome.Changed, plan.Changes, after.Warnings, null);
        }
        catch (Exception ex) when (IsHostError(ex))
        {
            return new ResourceReport(resource.Id, ResourceOutcome.Failed, plan.Changes, plan.Warnings, ex.Message);
        }
    }

    /// <summary>Errors from the host (files, programs, the Engine API) fail one resource; bugs still crash loudly.</summary>
    private static bool IsHostError(Exception ex) =>
        ex is ResourceException or IOException or UnauthorizedAccessException or CommandFailedException
            or Docker.DockerApiException or HttpRequestException or System.Text.Json.JsonException or ServiceUnavailableException;

    /// <summary>Dependencies first; otherwise the given order, so runs are repeatable.</summary>
    internal static IReadOnlyList<IResource> Order(IReadOnlyList<IResource> resources)
    {
        var byId = resources.ToDictionary(r => r.Id, StringComparer.Ordinal);
        var ordered = new List<IResource>();
        var state = new Dictionary<string, bool>(StringComparer.Ordinal); // false: visiting, true: done
        void Visit(IResource resource)
        {
            if (state.TryGetValue(resource.Id, out var done))
            {
                if (!done)
                {
                    throw new InvalidOperationException($"resource dependency cycle through {resource.Id}");
                }
                return;
            }
            state[resource.Id] = false;
            foreach (var dependency in resource.DependsOn)
            {
                if (byId.TryGetValue(dependency, out var needed))
                {
                    Visit(needed);
                }
            }
            state[resource.Id] = true;
            ordered.Add(resource);
        }
        foreach (var resource in resources)
        {
            Visit(resource);
        }
        return ordered;
    }
}
