// Loaded into every test process (.taprc `node-arg`): a subtest that ends without asserting
// anything under its own name fails, so no test can pass by asserting nothing (a test that
// prints `1..0` and is not a skip or a todo). Plain JavaScript: it runs before any loader.
import t from 'tap';

t.beforeEach((test) => {
  const end = test.onbeforeend;
  test.onbeforeend = () => {
    const { skip, todo } = test.options;
    if (!skip && !todo && test.count === 0) {
      test.fail('this test asserts nothing: give the subtest its own `t` and assert through it');
    }
    return end.call(test);
  };
});
