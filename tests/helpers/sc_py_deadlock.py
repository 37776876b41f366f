"""sc_py_deadlock: a lock-order inversion between two Python threads.

Thread A takes lock1 then lock2, thread B takes lock2 then lock1; a barrier makes sure each
holds its first lock before it asks for the second, so the two always deadlock. The main
thread waits for both in join(). Like the C scenario programs, it arms a 120 s alarm so even
a broken runner cannot leave it behind for long. tests/e2e/t3018-run-python-stacks.sh finds
the lines of the two blocked acquires by their comments ("blocks: A", "blocks: B").
"""
import signal
import sys
import threading

signal.alarm(120)
lock1 = threading.Lock()
lock2 = threading.Lock()
both = threading.Barrier(2)


def say(text):
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def thread_a():
    with lock1:
        say("thread A %d holds lock1" % threading.get_native_id())
        both.wait()
        lock2.acquire()  # blocks: A
        lock2.release()


def thread_b():
    with lock2:
        say("thread B %d holds lock2" % threading.get_native_id())
        both.wait()
        with lock1:  # blocks: B
            pass


a = threading.Thread(target=thread_a, name="A")
b = threading.Thread(target=thread_b, name="B")
a.start()
b.start()
a.join()
b.join()
