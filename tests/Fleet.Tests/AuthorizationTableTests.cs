using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using System.Net;
using Hawser.Controller.Api;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// The one authorization table, against a real controller: every method the proto files declare and every route the web UI
/// serves is in it, and each is called by every kind of caller (none, a node, a revoked node, a revoked operator, a viewer, an
/// operator scoped to role=web, an operator, an admin): allowed or refused as the table says, each refusal UNAUTHENTICATED or
/// PERMISSION_DENIED (401 or 403 on the web) naming why, stored as an event naming the caller, and nothing changed by it.
/// </summary>
[TestClass]
public sealed class AuthorizationTableTests
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    private static IEnumerable<MethodDescriptor> DeclaredMethods() =>
        new[] { AgentReflection.Descriptor, ControlReflection.Descriptor, EnrollmentReflection.Descriptor, Grpc.Health.V1.HealthReflection.Descriptor }
            .SelectMany(file => file.Services).SelectMany(service => service.Methods);

    private static string PathOf(MethodDescriptor method) => $"/{method.Service.FullName}/{method.Name}";

    /// <summary>The callers, and what each may do: null for no operator role (none, nodes, revoked).</summary>
    private sealed record Who(string Name, OperatorRole? Role, bool IsNode = false, bool Authenticated = true);

    [TestMethod]
    public void Every_declared_method_is_in_the_table_and_the_table_names_no_other()
    {
        var declared = DeclaredMethods().Select(PathOf).Order(StringComparer.Ordinal).ToList();

        CollectionAssert.AreEqual(declared, MethodAuthorization.Table.Keys.Order(StringComparer.Ordinal).ToList());
        Assert.HasCount(27, ControlReflection.Descriptor.Services.Single().Methods, "the control API's 27 methods");
        Assert.IsTrue(ControlReflection.Descriptor.Services.Single().Methods.All(m => MethodAuthorization.Table[PathOf(m)] is Access.Read or Access.Change or Access.Admin),
            "every control method needs an operator");
    }

    /// <summary>Whether <paramref name="who"/> may call what needs <paramref name="needed"/>.</summary>
    private static bool Allowed(Who who, Access needed) => needed switch
    {
        Access.Anonymous => true,
        Access.Node => who.IsNode,
        _ => who.Role is { } role && MethodAuthorization.Grants(role, needed),
    };

    [TestMethod]
    public async Task Each_method_and_web_route_allows_or_refuses_each_caller_as_the_table_says_and_a_refusal_changes_nothing()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        var secret = await controller.TokenAsync(2);
        using var host1 = new AgentHost();
        using var host2 = new AgentHost();
        await using (var web1 = AgentProcess.Start(host1, "web1", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash))
        await using (var web2 = AgentProcess.Start(host2, "web2", controller.Address, "--join-token", secret, "--ca-hash", controller.CaHash))
        {
            await web1.WaitForAsync("connected to");
            await web2.WaitForAsync("connected to");
        }
        var removed = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "node", "remove", "web2"]);
        Assert.AreEqual(0, removed.ExitCode, removed.Output);
        var viewer = await OperatorCredential.AddAsync(controller.CtlConfig, controller.Address, data.Path, "vera", "viewer");
        var scoped = await OperatorCredential.AddAsync(controller.CtlConfig, controller.Address, data.Path, "sam", "operator", "role=web");
        var operatorCredential = await OperatorCredential.AddAsync(controller.CtlConfig, controller.Address, data.Path, "otto", "operator");
        var revokedOperator = await OperatorCredential.AddAsync(controller.CtlConfig, controller.Address, data.Path, "mallory", "admin");
        var revoked = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "operator", "revoke", "mallory"]);
        Assert.AreEqual(0, revoked.ExitCode, revoked.Output);

        using var web1Certificate = host1.NodeCertificate();
        using var revokedNodeCertificate = host2.NodeCertificate();
        using var viewerCertificate = viewer.Certificate();
        using var scopedCertificate = scoped.Certificate();
        using var operatorCertificate = operatorCredential.Certificate();
        using var revokedCertificate = revokedOperator.Certificate();
        var callers = new (Who Who, GrpcChannel Channel, X509Certificate2? Certificate)[]
        {
            (new Who("no credential", null, Authenticated: false), controller.Channel(admin: false), null),
            (new Who("node:web1", null, IsNode: true), controller.Channel(admin: false, clientCertificate: web1Certificate), web1Certificate),
            (new Who("node:web2", null), controller.Channel(admin: false, clientCertificate: revokedNodeCertificate), revokedNodeCertificate),
            (new Who("mallory", null), controller.Channel(admin: false, clientCertificate: revokedCertificate), revokedCertificate),
            (new Who("vera", OperatorRole.Viewer), controller.Channel(admin: false, clientCertificate: viewerCertificate), viewerCertificate),
            (new Who("sam", OperatorRole.Operator), controller.Channel(admin: false, clientCertificate: scopedCertificate), scopedCertificate),
            (new Who("otto", OperatorRole.Operator), controller.Channel(admin: false, clientCertificate: operatorCertificate), operatorCertificate),
            (new Who("admin", OperatorRole.Admin), controller.Channel(), null),
        };
        var control = new ControlService.ControlServiceClient(callers[^1].Channel);
        var before = await control.GetNodeAsync(new GetNodeRequest { Name = "web1" });
        var operatorsBefore = (await control.ListOperatorsAsync(new ListOperatorsRequest())).Operators.Select(o => $"{o.Name} {o.Role} {o.RevokedAt is null}").ToList();

        var wrong = new List<string>();
        var checkedCalls = 0;
        foreach (var method in DeclaredMethods())
        {
            var needed = MethodAuthorization.Table[PathOf(method)];
            foreach (var (who, channel, _) in callers)
            {
                if (needed == Access.Node && who.IsNode)
                {
                    continue; // the agents' own tests cover a node's calls; an empty hello here would only test the hello's checks
                }
                var status = await CallAsync(channel, method, []);
                checkedCalls++;
                var expected = Allowed(who, needed) ? (StatusCode?)null : who.Authenticated ? StatusCode.PermissionDenied : StatusCode.Unauthenticated;
                if (expected is null ? status is StatusCode.PermissionDenied or StatusCode.Unauthenticated : status != expected)
                {
                    wrong.Add($"{PathOf(method)} by {who.Name}: {status}, expected {(expected is null ? "allowed" : expected.ToString())}");
                }
            }
        }
        var impersonation = new AgentMessage { Hello = new Hello { NodeName = "web2", AgentVersion = BuildVersion.Current } }.ToByteArray();
        var connect = AgentReflection.Descriptor.Services.Single().Methods.Single();
        var asWeb1 = await CallAsync(callers[1].Channel, connect, impersonation);
        if (asWeb1 != StatusCode.PermissionDenied)
        {
            wrong.Add($"web1's certificate saying hello as web2: {asWeb1}");
        }

        // The web UI's routes, by the same table: each operator signs in with its certificate; the revoked one cannot.
        var routes = MethodAuthorization.WebRoutes.Keys.Order(StringComparer.Ordinal).ToList();
        var addresses = 10;
        foreach (var (who, _, certificate) in callers.Where(c => !c.Who.IsNode))
        {
            using var client = await WebClientAsync(controller, who, certificate, IPAddress.Parse($"127.0.0.{addresses++}"));
            var csrf = client.Csrf;
            foreach (var route in routes)
            {
                var needed = MethodAuthorization.WebRoutes[route];
                var status = await WebCallAsync(controller, client.Client, csrf, route);
                if (route == "POST /login" && csrf is not null)
                {
                    await client.RefreshCsrfAsync(); // signing in again made a new session
                    csrf = client.Csrf;
                }
                checkedCalls++;
                var signedIn = csrf is not null;
                var allowed = needed == Access.Anonymous || (signedIn && Allowed(who, needed));
                // A login page refusing a wrong credential is not an authorization refusal: an anonymous route is refused only by 403.
                var refused = needed == Access.Anonymous ? status == HttpStatusCode.Forbidden
                    : status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden || (status == HttpStatusCode.Redirect && route.StartsWith("GET ", StringComparison.Ordinal));
                if (allowed == refused || (!allowed && signedIn && status != HttpStatusCode.Forbidden))
                {
                    wrong.Add($"web {route} by {who.Name}{(signedIn ? "" : " (not signed in)")}: {(int)status}, expected {(allowed ? "allowed" : signedIn ? "403" : "401 or a redirect to /login")}");
                }
            }
        }

        Assert.IsEmpty(wrong, string.Join("\n", wrong));
        Assert.IsGreaterThan(routes.Count * 6 + 27 * 8, checkedCalls, "every caller tried every method and route");
        Assert.IsEmpty((await control.ListRevisionsAsync(new ListRevisionsRequest())).Revisions, "no revision was stored");
        CollectionAssert.AreEqual(new[] { "web1" }, (await control.ListNodesAsync(new ListNodesRequest())).Nodes.Select(n => n.Name).ToArray());
        var after = await control.GetNodeAsync(new GetNodeRequest { Name = "web1" });
        Assert.AreEqual(before.AgentVersion, after.AgentVersion, "the impersonation changed nothing");
        Assert.IsEmpty((await control.ListRolloutsAsync(new ListRolloutsRequest())).Rollouts);
        CollectionAssert.AreEqual(operatorsBefore, (await control.ListOperatorsAsync(new ListOperatorsRequest())).Operators.Select(o => $"{o.Name} {o.Role} {o.RevokedAt is null}").ToList(),
            "no operator was added, revoked or changed");
        // Each refused caller is named in the event log, with what it tried (refusal events are stored beside the call, at once).
        var named = new[] { "vera", "sam", "otto", "mallory", "node:web1", "node:web2" };
        Google.Protobuf.Collections.RepeatedField<Event> refusals = [];
        Assert.IsTrue(await Poll.UntilAsync(async () =>
        {
            refusals = (await control.ListEventsAsync(new ListEventsRequest { Kind = "rpc.refused", Limit = 10_000 })).Events;
            return named.All(name => refusals.Any(e => e.Actor == name && e.Summary.Contains($"to {name} from", StringComparison.Ordinal)));
        }, TimeSpan.FromSeconds(30)), string.Join("\n", refusals.Select(e => $"{e.Actor}: {e.Summary}")));
        Google.Protobuf.Collections.RepeatedField<Event> webRefusals = [];
        Assert.IsTrue(await Poll.UntilAsync(async () =>
        {
            webRefusals = (await control.ListEventsAsync(new ListEventsRequest { Actor = "vera", Kind = "web.refused", Limit = 10_000 })).Events;
            return webRefusals.Any(e => e.Summary.StartsWith("refused POST /api/v1/", StringComparison.Ordinal) && e.Summary.Contains(" to vera from 127.0.0.", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(30)), string.Join("\n", webRefusals.Select(e => $"{e.Kind}: {e.Summary}")));
        var byActor = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "events", "--actor", "vera", "-o", "json"]);
        Assert.AreEqual(0, byActor.ExitCode, byActor.Output);
        var actors = JsonDocument.Parse(byActor.StandardOutput).RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("actor").GetString()).Distinct().ToList();
        CollectionAssert.AreEqual(new[] { "vera" }, actors, "events --actor shows that actor's events only");
        foreach (var (_, channel, _) in callers)
        {
            channel.Dispose();
        }
    }

    /// <summary>
    /// A web client signed in with <paramref name="certificate"/> (the admin's when none, nothing without a credential) where the
    /// caller is a live operator, from its own loopback address; refused at the door otherwise.
    /// </summary>
    private static async Task<WebSignInClient> WebClientAsync(ControllerProcess controller, Who who, X509Certificate2? certificate, IPAddress source)
    {
        var presented = !who.Authenticated ? null : certificate ?? X509Certificate2.CreateFromPemFile(
            Path.Combine(controller.DataDirectory, "pki", "admin.crt"), Path.Combine(controller.DataDirectory, "pki", "admin.key"));
        var client = await WebSignInClient.SignInAsync(controller, presented, source);
        if (who.Role is null)
        {
            Assert.IsNull(client.Csrf, $"{who.Name} signed in to the web UI");
        }
        else
        {
            Assert.IsNotNull(client.Csrf, $"{who.Name} could not sign in: {client.Refusal}");
        }
        return client;
    }

    /// <summary>Calls a route (its parameters filled in) as the UI would; returns the status.</summary>
    private static async Task<HttpStatusCode> WebCallAsync(ControllerProcess controller, HttpClient client, string? csrf, string route)
    {
        var verb = route[..route.IndexOf(' ', StringComparison.Ordinal)];
        var path = route[(verb.Length + 1)..].Replace("{file}", "app.js", StringComparison.Ordinal).Replace("{name}", "web1", StringComparison.Ordinal)
            .Replace("{id}", "1", StringComparison.Ordinal).Replace("{action}", "pause", StringComparison.Ordinal);
        using var request = new HttpRequestMessage(new HttpMethod(verb), path);
        if (verb == "POST")
        {
            // The login form signs in with the client certificate (a wrong login would only feed the login throttle).
            request.Content = path.StartsWith("/api/", StringComparison.Ordinal) ? new StringContent("{}", System.Text.Encoding.UTF8, "application/json")
                : new FormUrlEncodedContent(path == "/login" ? [new("method", "certificate")] : []);
            if (csrf is not null)
            {
                request.Headers.Add("X-CSRF-Token", csrf);
            }
        }
        // The event stream never ends: its status is all that is read.
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return response.StatusCode;
    }

    /// <summary>Calls any method with raw bytes as its (first) request message; returns the status it ended with.</summary>
    private static async Task<StatusCode> CallAsync(GrpcChannel channel, MethodDescriptor descriptor, byte[] request)
    {
        var type = (descriptor.IsClientStreaming, descriptor.IsServerStreaming) switch
        {
            (false, false) => MethodType.Unary,
            (false, true) => MethodType.ServerStreaming,
            (true, false) => MethodType.ClientStreaming,
            _ => MethodType.DuplexStreaming,
        };
        var method = new Method<byte[], byte[]>(type, descriptor.Service.FullName, descriptor.Name, Bytes, Bytes);
        var invoker = channel.CreateCallInvoker();
        var options = new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30));
        try
        {
            switch (type)
            {
                case MethodType.Unary:
                    await invoker.AsyncUnaryCall(method, null, options, request);
                    break;
                case MethodType.ServerStreaming:
                    using (var call = invoker.AsyncServerStreamingCall(method, null, options, request))
                    {
                        // A watch never ends: its first message shows the call was let through.
                        await call.ResponseStream.MoveNext(CancellationToken.None);
                    }
                    break;
                default:
                    using (var call = invoker.AsyncDuplexStreamingCall(method, null, options))
                    {
                        try
                        {
                            // The refusal may arrive before the request is written; then reading reports it.
                            await call.RequestStream.WriteAsync(request);
                            await call.RequestStream.CompleteAsync();
                        }
                        catch (Exception ex) when (ex is RpcException or InvalidOperationException)
                        {
                        }
                        while (await call.ResponseStream.MoveNext(CancellationToken.None))
                        {
                        }
                    }
                    break;
            }
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

}
