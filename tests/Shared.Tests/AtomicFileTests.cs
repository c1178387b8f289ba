using System.Diagnostics;
using Hawser.Shared.IO;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests;

/// <summary>AtomicFile on the real file system: what it replaces, what it refuses, what statx reads.</summary>
[TestClass]
public sealed class AtomicFileTests
{
    [TestMethod]
    public void Writes_a_new_file_and_replaces_a_regular_one_with_the_mode_given()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "sub", "file.conf");

        AtomicFile.Write(path, "one"u8, (UnixFileMode)0b110_100_000);
        AtomicFile.Write(path, "two"u8, (UnixFileMode)0b110_000_000);

        Assert.AreEqual("two", File.ReadAllText(path));
        var metadata = AtomicFile.Stat(path)!;
        Assert.AreEqual(FileKind.Regular, metadata.Kind);
        Assert.AreEqual((UnixFileMode)0b110_000_000, metadata.Mode);
        Assert.IsEmpty(Directory.GetFiles(Path.GetDirectoryName(path)!, ".*"), "no temp file is left");
    }

    [TestMethod]
    public void Refuses_a_symbolic_link_and_leaves_it_and_its_target_alone()
    {
        using var directory = new TempDirectory();
        var target = Path.Combine(directory.Path, "elsewhere");
        File.WriteAllText(target, "theirs");
        var path = Path.Combine(directory.Path, "file.conf");
        File.CreateSymbolicLink(path, target);

        var error = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, "ours"u8, UnixFileMode.UserRead | UnixFileMode.UserWrite));

        Assert.AreEqual($"refusing to write {path}: it is a symbolic link, not a regular file", error.Message);
        Assert.AreEqual(target, new FileInfo(path).LinkTarget);
        Assert.AreEqual("theirs", File.ReadAllText(target));
    }

    [TestMethod]
    public void Replaces_its_own_symbolic_link_when_told_to_without_following_it()
    {
        using var directory = new TempDirectory();
        var target = Path.Combine(directory.Path, "elsewhere");
        File.WriteAllText(target, "theirs");
        var path = Path.Combine(directory.Path, "file.conf");
        File.CreateSymbolicLink(path, target);

        AtomicFile.Write(path, "ours"u8, UnixFileMode.UserRead | UnixFileMode.UserWrite, replaceSymlink: true);

        Assert.AreEqual(FileKind.Regular, AtomicFile.Stat(path)!.Kind);
        Assert.AreEqual("ours", File.ReadAllText(path));
        Assert.AreEqual("theirs", File.ReadAllText(target));
    }

    [TestMethod]
    public void Refuses_a_directory()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "file.conf");
        Directory.CreateDirectory(Path.Combine(path, "inside"));

        var error = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, "x"u8, UnixFileMode.UserRead));

        StringAssert.Contains(error.Message, $"{path}: it is a directory");
        Assert.IsTrue(Directory.Exists(Path.Combine(path, "inside")));
    }

    [TestMethod]
    [DataRow("c", "a character device")]
    [DataRow("b", "a block device")]
    [DataRow("p", "a FIFO")]
    public void Refuses_a_device_or_a_fifo(string type, string described)
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "file.conf");
        // mknod as root: the same numbers as /dev/null (c 1 3) and /dev/loop0 (b 7 0); a FIFO takes none.
        string[] arguments = type == "p" ? [path, "p"] : [path, type, type == "c" ? "1" : "7", type == "c" ? "3" : "0"];
        using (var mknod = Process.Start("mknod", arguments)!)
        {
            mknod.WaitForExit();
            Assert.AreEqual(0, mknod.ExitCode, "mknod (the tests run as root)");
        }

        var error = Assert.ThrowsExactly<IOException>(() => AtomicFile.Write(path, "x"u8, UnixFileMode.UserRead));

        StringAssert.Contains(error.Message, $"{path}: it is {described}");
        Assert.AreEqual(type == "p" ? FileKind.Fifo : type == "c" ? FileKind.CharacterDevice : FileKind.BlockDevice, AtomicFile.Stat(path)!.Kind);
    }

    [TestMethod]
    public void Owner_and_kind_come_from_statx_without_following_a_link()
    {
        using var directory = new TempDirectory();
        var file = Path.Combine(directory.Path, "file");
        File.WriteAllText(file, "x");
        AtomicFile.Chown(file, 1234, 5678);
        var link = Path.Combine(directory.Path, "link");
        File.CreateSymbolicLink(link, file);

        Assert.AreEqual((1234, 5678), AtomicFile.Owner(file));
        Assert.AreEqual((0, 0), AtomicFile.Owner(link), "the link itself belongs to root, who made it");
        Assert.AreEqual(FileKind.SymbolicLink, AtomicFile.Stat(link)!.Kind);
        Assert.IsNull(AtomicFile.Stat(Path.Combine(directory.Path, "absent")));
        Assert.IsNull(AtomicFile.Stat(Path.Combine(file, "below-a-file")));
    }
}
